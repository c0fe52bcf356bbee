package queue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/mail"
)

// smtpCourier hands every delivery over SMTP to one loopback receiver, as
// the last hop does: a recipient the receiver refuses with 5xx fails, any
// other refusal defers it.
type smtpCourier struct{ addr string }

func (c smtpCourier) Deliver(_ context.Context, d *mail.Delivery) []mail.Outcome {
	cl, err := smtp.Dial(c.addr)
	if err != nil {
		return refusedAll(d, err)
	}
	defer cl.Close()
	if err := cl.Mail(d.From, nil); err != nil {
		return refusedAll(d, err)
	}
	out := make([]mail.Outcome, len(d.Rcpts))
	var taken []int
	for i, r := range d.Rcpts {
		out[i] = mail.Outcome{Rcpt: r.Addr, Code: 250}
		if err := cl.Rcpt(r.Addr, nil); err != nil {
			out[i] = refused(r.Addr, err)
			continue
		}
		taken = append(taken, i)
	}
	if len(taken) == 0 {
		return out
	}
	w, err := cl.Data()
	if err == nil {
		_, err = w.Write(d.Body)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
	}
	for _, i := range taken {
		if err != nil {
			out[i] = refused(out[i].Rcpt, err)
		}
	}
	cl.Quit()
	return out
}

// refused is the outcome of a refusal: permanent for a 5xx reply, with
// its codes; anything else (no reply, a 4xx) is temporary.
func refused(rcpt string, err error) mail.Outcome {
	var se *smtp.SMTPError
	if !errors.As(err, &se) {
		return mail.Outcome{Rcpt: rcpt, Err: err}
	}
	return mail.Outcome{Rcpt: rcpt, Err: err, Permanent: se.Code >= 500, Code: se.Code,
		Enhanced: fmt.Sprintf("%d.%d.%d", se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2])}
}

func refusedAll(d *mail.Delivery, err error) []mail.Outcome {
	out := make([]mail.Outcome, len(d.Rcpts))
	for i, r := range d.Rcpts {
		out[i] = refused(r.Addr, err)
	}
	return out
}

// bounceSink is a loopback receiver where gone@example.net does not exist
// (550 5.1.1) and, while down is set, every other recipient is deferred
// (451).
func bounceSink(t *testing.T, down *atomic.Bool) *smtpsink.Sink {
	return smtpsink.Start(t, smtpsink.Options{RcptReply: func(rcpt string) *smtp.SMTPError {
		switch {
		case rcpt == "gone@example.net":
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		case down != nil && down.Load():
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
		}
		return nil
	}})
}

// spoolFrame is one record of a segment file: its kind, queue ID and
// where it ends.
type spoolFrame struct {
	kind byte
	id   string
	end  int64
}

// segmentFrames lists the records of the spool's one segment file.
func segmentFrames(t *testing.T, dir string) (string, []spoolFrame) {
	t.Helper()
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if len(segs) != 1 {
		t.Fatalf("spool segments %v, want one", segs)
	}
	data, err := os.ReadFile(segs[0])
	if err != nil {
		t.Fatal(err)
	}
	var out []spoolFrame
	for off := 0; off < len(data); {
		h, err := parseHeader(data[off:])
		if err != nil {
			t.Fatalf("record at %d: %v", off, err)
		}
		off += headerLen + h.n
		out = append(out, spoolFrame{kind: h.kind, id: h.id, end: int64(off)})
	}
	return segs[0], out
}

// A bounce and its DSN cannot come apart: the DSN is written in one write
// with the bounced message's final state. Whatever a crash leaves of that
// write — nothing of it, the DSN alone (a torn write), both, both and the
// message's removal — a queue reopened on it sends exactly one DSN, with
// the same queue ID and Message-ID every time, to a real SMTP receiver,
// and never the message's text.
func TestDSNExactlyOnceWhereverTheCrash(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	down := &atomic.Bool{}
	down.Store(true)
	first := bounceSink(t, down)
	rec := &auditRec{}
	q1 := startQueue(t, dir, smtpCourier{first.Addr}, func(c *Config) { c.Audit = rec; c.Schedule = []time.Duration{time.Hour} })
	e := env("gone@example.net")
	e.From = "lab@example.net"
	id, err := q1.Enqueue(ctx, e, testMsg())
	if err != nil {
		t.Fatal(err)
	}
	want := dsnID(id)
	waitFor(t, "the DSN tried once", func() bool {
		list := q1.List()
		return len(list) == 1 && list[0].ID == want && list[0].State.Attempts == 1 && !list[0].Running
	})
	if err := q1.Close(ctx); err != nil {
		t.Fatal(err)
	}
	acc, _ := rec.seen()
	if len(acc) != 1 || acc[0].ID != want || acc[0].Origin != mail.OriginDSN || acc[0].Client != mail.GeneratedClient ||
		!acc[0].DSN || acc[0].DSNOf != id || acc[0].From != "" {
		t.Fatalf("the DSN's entry into the spool audited as %+v", acc)
	}

	seg, frames := segmentFrames(t, dir)
	cut := map[string]int64{}
	for i, f := range frames {
		switch {
		case f.kind == kindMsg && f.id == want:
			cut["before the DSN"] = frames[i-1].end
			cut["the DSN alone (torn)"] = f.end
		case f.kind == kindState && f.id == id:
			cut["the DSN and the bounce"] = f.end
		case f.kind == kindDone && f.id == id:
			cut["the bounced message removed"] = f.end
		}
	}
	if len(cut) != 4 {
		t.Fatalf("records %+v: the DSN, the bounce and the removal not each found", frames)
	}
	data, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	for name, n := range cut {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			img := t.TempDir()
			if err := os.WriteFile(filepath.Join(img, filepath.Base(seg)), data[:n], 0o600); err != nil {
				t.Fatal(err)
			}
			sink := bounceSink(t, nil)
			q2 := startQueue(t, img, smtpCourier{sink.Addr}, nil)
			waitFor(t, "the recovered spool emptied", func() bool { return len(q2.List()) == 0 })
			var dsns []smtpsink.Message
			for _, m := range sink.Messages() {
				if m.From == "" {
					dsns = append(dsns, m)
				}
			}
			if len(dsns) != 1 {
				t.Fatalf("%d DSNs delivered, want exactly 1", len(dsns))
			}
			d := dsns[0].Data
			for _, w := range []string{"Message-ID: <" + want + "@gw.example.org>", "X-Sealgate-Queue-ID: " + id, "Status: 5.1.1"} {
				if !bytes.Contains(d, []byte(w)) {
					t.Errorf("the DSN lacks %q", w)
				}
			}
			if bytes.Contains(d, []byte(secretBody)) {
				t.Error("the DSN repeats the message's text")
			}
			if r := dsns[0].Rcpts; len(r) != 1 || r[0] != "lab@example.net" {
				t.Errorf("DSN sent to %v", r)
			}
		})
	}
}

// When recovery finds a DSN without the bounced message's mark and cannot
// write that mark (a failing disk), the DSN waits: it is delivered once
// the mark is on disk, and only once.
func TestDSNWaitsForItsBounceMark(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := newMemSpool()
	c1 := &scripted{fn: func(_ int, d *mail.Delivery) []mail.Outcome {
		if d.From == "" {
			return all(d, errors.New("451 later"), false)
		}
		return all(d, errors.New("550 5.1.1 no such user"), true)
	}}
	q1, err := New(Config{Dir: "/spool", Key: testKey, Courier: c1, Hostname: "gw.example.org",
		Schedule: []time.Duration{time.Hour}, fs: m})
	if err != nil {
		t.Fatal(err)
	}
	if err := q1.Start(ctx); err != nil {
		t.Fatal(err)
	}
	id, err := q1.Enqueue(ctx, env("gone@example.net"), testMsg())
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the DSN queued", func() bool { l := q1.List(); return len(l) == 1 && l[0].ID == dsnID(id) })
	q1.Close(ctx)

	// The torn write: the spool up to the DSN, without the bounce's state.
	img := m.processImage()
	for name, data := range img.files("/spool") {
		if _, ok := parseSegName(name); !ok {
			continue
		}
		end := 0
		for off := 0; off < len(data); {
			h, err := parseHeader(data[off:])
			if err != nil {
				t.Fatal(err)
			}
			off += headerLen + h.n
			if h.kind == kindMsg && h.id == dsnID(id) {
				end = off
			}
		}
		if end == 0 {
			t.Fatal("no DSN record in the spool")
		}
		img.putFile(filepath.Join("/spool", name), data[:end])
	}
	var failing atomic.Bool
	var refused atomic.Int32
	failing.Store(true)
	fail := failWhile(failing.Load, syscall.EIO, "write", "sync")
	img.setFault(func(n int, op, path string) (error, int) {
		err, short := fail(n, op, path)
		if err != nil {
			refused.Add(1)
		}
		return err, short
	})
	var dsns atomic.Int32
	c2 := &scripted{fn: func(_ int, d *mail.Delivery) []mail.Outcome {
		if d.From == "" {
			dsns.Add(1)
			return all(d, nil, false)
		}
		return all(d, errors.New("550 5.1.1 no such user"), true)
	}}
	q2, err := New(Config{Dir: "/spool", Key: testKey, Courier: c2, Hostname: "gw.example.org",
		Schedule: []time.Duration{5 * time.Millisecond}, fs: img})
	if err != nil {
		t.Fatal(err)
	}
	if err := q2.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer q2.Close(ctx)
	// The mark is tried at recovery and at each of the message's passes.
	if err := waitUntil(10*time.Second, func() bool { return refused.Load() >= 5 }); err != nil {
		t.Fatalf("the queue did not try to write the mark again: %v", err)
	}
	if n := dsns.Load(); n != 0 {
		t.Fatalf("%d DSNs delivered before the bounce mark was on disk", n)
	}
	failing.Store(false)
	waitFor(t, "the DSN delivered and the spool empty", func() bool { return len(q2.List()) == 0 && dsns.Load() > 0 })
	q2.Close(ctx)
	if n := dsns.Load(); n != 1 {
		t.Fatalf("%d DSNs delivered, want 1", n)
	}
	// A restart finds nothing more to send.
	c3 := &scripted{fn: func(_ int, d *mail.Delivery) []mail.Outcome { return all(d, nil, false) }}
	q3 := startQueue(t, "/spool", c3, func(c *Config) { c.fs = img })
	if l := q3.List(); len(l) != 0 {
		t.Fatalf("%d messages queued after the restart: %+v", len(l), l)
	}
}
