package queue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-message"
	"github.com/sealgate/sealgate/internal/testenv"
	"github.com/sealgate/sealgate/mail"
)

// scripted is a Courier whose answers the test decides.
type scripted struct {
	mu    sync.Mutex
	calls []mail.Delivery
	fn    func(n int, d *mail.Delivery) []mail.Outcome
}

func (s *scripted) Deliver(_ context.Context, d *mail.Delivery) []mail.Outcome {
	s.mu.Lock()
	n := len(s.calls)
	s.calls = append(s.calls, *d)
	s.mu.Unlock()
	return s.fn(n, d)
}

func (s *scripted) delivered() []mail.Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]mail.Delivery(nil), s.calls...)
}

func all(d *mail.Delivery, err error, permanent bool) []mail.Outcome {
	var out []mail.Outcome
	for _, r := range d.Rcpts {
		out = append(out, mail.Outcome{Rcpt: r.Addr, Err: err, Permanent: permanent, Code: codeOf(err, permanent)})
	}
	return out
}

func codeOf(err error, permanent bool) int {
	switch {
	case err == nil:
		return 250
	case permanent:
		return 550
	}
	return 451
}

var testKey = bytes.Repeat([]byte{7}, 32)

func startQueue(t *testing.T, dir string, c mail.Courier, mod func(*Config)) *Queue {
	t.Helper()
	cfg := Config{Dir: dir, Key: testKey, Courier: c, Hostname: "gw.example.org",
		Schedule: []time.Duration{20 * time.Millisecond}}
	if mod != nil {
		mod(&cfg)
	}
	q, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close(context.Background()) })
	return q
}

const secretBody = "Patient PAT-SECRET-7731 results attached"

func testMsg() []byte {
	return []byte("From: lab@clinic.example.org\r\nTo: dr@example.net\r\nSubject: x\r\n\r\n" + secretBody + "\r\n")
}

func env(rcpts ...string) *mail.Envelope {
	e := &mail.Envelope{From: "lab@clinic.example.org", Client: "ehr"}
	for _, r := range rcpts {
		e.Rcpts = append(e.Rcpts, mail.Rcpt{Addr: r})
	}
	return e
}

// waitFor polls cond for up to 30 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testenv.WaitFor(t, 30*time.Second, what, cond)
}

func TestSpoolFilesAreEncryptedAndBound(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	block := make(chan struct{})
	c := &scripted{fn: func(int, *mail.Delivery) []mail.Outcome { <-block; return nil }}
	q := startQueue(t, dir, c, nil)
	defer close(block)
	id, err := q.Enqueue(context.Background(), env("dr@example.net"), testMsg())
	if err != nil {
		t.Fatal(err)
	}
	assertNoPlaintext(t, dir, "PAT-SECRET", "lab@clinic", "dr@example.net")
	q.sp.mu.Lock()
	l := q.sp.index[id].msg
	q.sp.mu.Unlock()
	frame, err := l.seg.read(l.off, l.n)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.sp.crypt.decrypt(recordAAD(kindMsg, id), frame[headerLen:]); err != nil {
		t.Fatalf("own record does not open: %v", err)
	}
	if _, err := q.sp.crypt.decrypt(recordAAD(kindMsg, NewID()), frame[headerLen:]); err == nil {
		t.Fatal("record opened under another queue ID")
	}
	if _, err := q.sp.crypt.decrypt(recordAAD(kindState, id), frame[headerLen:]); err == nil {
		t.Fatal("message record opened as a state record")
	}
}

// assertNoPlaintext fails if any file under dir holds one of the strings.
func assertNoPlaintext(t *testing.T, dir string, secrets ...string) {
	t.Helper()
	files := 0
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return nil
		}
		files++
		b, _ := os.ReadFile(p)
		for _, sec := range secrets {
			if bytes.Contains(b, []byte(sec)) {
				t.Errorf("%s holds %q in the clear", filepath.Base(p), sec)
			}
		}
		return nil
	})
	if files == 0 {
		t.Fatal("no spool files")
	}
}

func TestTemporaryFailureRetriedThenDelivered(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := &scripted{fn: func(n int, d *mail.Delivery) []mail.Outcome {
		if n == 0 {
			return all(d, errors.New("451 try later"), false)
		}
		return all(d, nil, false)
	}}
	q := startQueue(t, dir, c, nil)
	id, err := q.Enqueue(context.Background(), env("dr@example.net"), testMsg())
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "delivery", func() bool { return len(q.List()) == 0 })
	calls := c.delivered()
	if len(calls) != 2 || calls[1].QueueID != id || !bytes.Contains(calls[1].Body, []byte(secretBody)) {
		t.Fatalf("want 2 attempts with the body, got %d", len(calls))
	}
	if ids, _ := q.sp.list(); len(ids) != 0 {
		t.Fatal("delivered message still in the spool")
	}
}

func TestPermanentFailureSendsOneDSN(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := &scripted{fn: func(n int, d *mail.Delivery) []mail.Outcome {
		if d.From == "" {
			return all(d, nil, false) // the DSN itself is delivered
		}
		out := all(d, nil, false)
		out[1] = mail.Outcome{Rcpt: d.Rcpts[1].Addr, Err: errors.New("550 5.1.1 no such user"), Permanent: true,
			Code: 550, Enhanced: "5.1.1", RemoteMTA: "mx.example.net"}
		return out
	}}
	q := startQueue(t, dir, c, nil)
	if _, err := q.Enqueue(context.Background(), env("ok@example.net", "gone@example.net"), testMsg()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "DSN delivery", func() bool { return len(c.delivered()) == 2 && len(q.List()) == 0 })
	dsnDel := c.delivered()[1]
	if dsnDel.From != "" || len(dsnDel.Rcpts) != 1 || dsnDel.Rcpts[0].Addr != "lab@clinic.example.org" {
		t.Fatalf("DSN envelope: from %q to %v", dsnDel.From, dsnDel.Rcpts)
	}
	checkDSN(t, dsnDel.Body, "gone@example.net", "5.1.1")
}

// localFailure is a failure sealgate decides itself, with its own reason.
type localFailure struct{}

func (localFailure) Error() string       { return "courier: cannot send this message" }
func (localFailure) LocalReason() string { return "the message header cannot be read" }

// TestLocalFailureGivesItsReason: a recipient bounced at once by a failure
// sealgate decided itself (no remote reply, such as DKIM refusing a header
// it cannot read) gets a DSN that says why, as an x-sealgate
// Diagnostic-Code and in its text, on the first attempt.
func TestLocalFailureGivesItsReason(t *testing.T) {
	t.Parallel()
	c := &scripted{fn: func(n int, d *mail.Delivery) []mail.Outcome {
		if d.From == "" {
			return all(d, nil, false)
		}
		return []mail.Outcome{{Rcpt: d.Rcpts[0].Addr, Err: localFailure{}, Permanent: true, Enhanced: "5.6.0"}}
	}}
	q := startQueue(t, t.TempDir(), c, nil)
	if _, err := q.Enqueue(context.Background(), env("dr@example.net"), testMsg()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "DSN delivery", func() bool { return len(c.delivered()) == 2 && len(q.List()) == 0 })
	body := c.delivered()[1].Body
	checkDSN(t, body, "dr@example.net", "5.6.0")
	for _, want := range []string{"Diagnostic-Code: x-sealgate; the message header cannot be read",
		"not sent by this mail system: the message header cannot be read"} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("DSN lacks %q:\n%s", want, body)
		}
	}
}

func checkDSN(t *testing.T, body []byte, rcpt, status string) {
	t.Helper()
	ent, err := message.Read(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, _ := ent.Header.ContentType()
	if mt != "multipart/report" || params["report-type"] != "delivery-status" {
		t.Fatalf("DSN content type %s %v", mt, params)
	}
	if !bytes.Contains(body, []byte("Final-Recipient: rfc822; "+rcpt)) || !bytes.Contains(body, []byte("Status: "+status)) {
		t.Errorf("DSN lacks recipient or status:\n%s", body)
	}
	if bytes.Contains(body, []byte(secretBody)) {
		t.Error("DSN returns the body although RET=HDRS is the default")
	}
}

func TestNoDSNForNullSenderOrNotifyNever(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := &scripted{fn: func(n int, d *mail.Delivery) []mail.Outcome { return all(d, errors.New("550 no"), true) }}
	q := startQueue(t, dir, c, nil)
	e := env("a@example.net")
	e.From = ""
	q.Enqueue(context.Background(), e, testMsg())
	e2 := env("b@example.net")
	e2.Rcpts[0].Notify = []string{"NEVER"}
	q.Enqueue(context.Background(), e2, testMsg())
	waitFor(t, "bounces", func() bool { return len(q.List()) == 0 })
	// Close waits for any attempt still running (and a DSN it would
	// queue), so the counts below are final.
	q.Close(context.Background())
	if n := len(c.delivered()); n != 2 {
		t.Fatalf("%d deliveries, want 2 (no DSN)", n)
	}
	if n := len(q.List()); n != 0 {
		t.Fatalf("%d messages queued after the bounces, want none (no DSN)", n)
	}
}

func TestExpiredMessageBounces(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := &scripted{fn: func(n int, d *mail.Delivery) []mail.Outcome {
		if d.From == "" {
			return all(d, nil, false)
		}
		return all(d, errors.New("451 later"), false)
	}}
	aud := &expiryRec{}
	q := startQueue(t, dir, c, func(cfg *Config) { cfg.MaxAge = 60 * time.Millisecond; cfg.Audit = aud })
	id, _ := q.Enqueue(context.Background(), env("slow@example.net"), testMsg())
	waitFor(t, "expiry DSN", func() bool {
		for _, d := range c.delivered() {
			if d.From == "" {
				return true
			}
		}
		return false
	})
	for _, d := range c.delivered() {
		if d.From == "" {
			checkDSN(t, d.Body, "slow@example.net", "4.4.7")
		}
	}
	aud.mu.Lock()
	defer aud.mu.Unlock()
	if len(aud.expired) != 1 || aud.expired[0] != id+" slow@example.net" || aud.attempts[0] < 1 {
		t.Errorf("the auditor was told of expiries %q after %v attempts, want the one recipient once", aud.expired, aud.attempts)
	}
}

// expiryRec is an auditor that also hears of expiries (ExpiryAuditor).
type expiryRec struct {
	auditRec
	expired  []string
	attempts []int
}

func (a *expiryRec) Expired(env *mail.Envelope, rcpt string, attempts int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.expired = append(a.expired, env.ID+" "+rcpt)
	a.attempts = append(a.attempts, attempts)
}

func TestRecoveryAfterRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	down := &scripted{fn: func(n int, d *mail.Delivery) []mail.Outcome { return all(d, errors.New("451 down"), false) }}
	q1 := startQueue(t, dir, down, func(c *Config) { c.Schedule = []time.Duration{time.Hour} })
	id, _ := q1.Enqueue(context.Background(), env("dr@example.net"), testMsg())
	waitFor(t, "first attempt", func() bool { return len(down.delivered()) == 1 })
	q1.Close(context.Background())

	up := &scripted{fn: func(n int, d *mail.Delivery) []mail.Outcome { return all(d, nil, false) }}
	q2 := startQueue(t, dir, up, nil)
	info, err := q2.Show(id)
	if err != nil || info.State.Attempts != 1 {
		t.Fatalf("recovered state: %+v %v", info.State, err)
	}
	q2.Retry(id)
	waitFor(t, "redelivery", func() bool { return len(up.delivered()) == 1 && len(q2.List()) == 0 })
}

func TestDamagedRecordQuarantinedAndTornTailCut(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	down := &scripted{fn: func(n int, d *mail.Delivery) []mail.Outcome { return all(d, errors.New("451"), false) }}
	slow := func(c *Config) { c.Schedule = []time.Duration{time.Hour} }
	q1 := startQueue(t, dir, down, slow)
	a, _ := q1.Enqueue(context.Background(), env("a@example.net"), testMsg())
	q1.Close(context.Background())
	q2 := startQueue(t, dir, down, slow) // a new segment for b
	b, _ := q2.Enqueue(context.Background(), env("b@example.net"), testMsg())
	q2.Close(context.Background())

	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if len(segs) < 2 {
		t.Fatalf("want at least 2 segments, got %d", len(segs))
	}
	// Flip a byte inside a's record in the oldest segment.
	first, _ := os.ReadFile(segs[0])
	first[headerLen+40] ^= 0xff
	os.WriteFile(segs[0], first, 0o600)
	// A torn write at the end of the newest segment.
	newest := segs[len(segs)-1]
	f, _ := os.OpenFile(newest, os.O_WRONLY|os.O_APPEND, 0)
	f.Write([]byte("SG2M\x00\x01partial record"))
	f.Close()

	q3 := startQueue(t, dir, down, slow)
	if _, err := q3.Show(a); err == nil {
		t.Error("damaged message recovered")
	}
	if _, err := q3.Show(b); err != nil {
		t.Errorf("intact message lost: %v", err)
	}
	bad, _ := filepath.Glob(filepath.Join(dir, "quarantine", "*.bad"))
	if len(bad) != 1 {
		t.Errorf("%d quarantined regions, want 1 (the torn tail is not one)", len(bad))
	}
}

func TestFinishedSegmentsAreDeletedAndOldOnesCompacted(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var mu sync.Mutex
	hold := map[string]bool{"slow@example.net": true}
	c := &scripted{fn: func(n int, d *mail.Delivery) []mail.Outcome {
		mu.Lock()
		defer mu.Unlock()
		if hold[d.Rcpts[0].Addr] {
			return all(d, errors.New("451"), false)
		}
		return all(d, nil, false)
	}}
	q := startQueue(t, dir, c, func(c *Config) { c.Schedule = []time.Duration{time.Hour} })
	q.sp.segSize = 4096 // rotate every message or so
	q.sp.compactAfter = 0
	slowID, _ := q.Enqueue(context.Background(), env("slow@example.net"), testMsg())
	for i := 0; i < 30; i++ {
		q.Enqueue(context.Background(), env("fast@example.net"), testMsg())
	}
	waitFor(t, "deliveries", func() bool { return len(q.List()) == 1 })
	q.Enqueue(context.Background(), env("fast@example.net"), testMsg()) // triggers maintenance
	waitFor(t, "segments to go", func() bool {
		segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
		return len(segs) <= 3 && len(q.List()) == 1
	})
	q.Close(context.Background())
	q2 := startQueue(t, dir, c, nil)
	if _, err := q2.Show(slowID); err != nil {
		t.Fatalf("waiting message lost by compaction: %v", err)
	}
	if n := len(q2.List()); n != 1 {
		t.Fatalf("%d messages recovered, want only the waiting one", n)
	}
}

func TestPanickingDeliveryQuarantined(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := &scripted{fn: func(int, *mail.Delivery) []mail.Outcome { panic("courier bug") }}
	q := startQueue(t, dir, c, nil)
	id, _ := q.Enqueue(context.Background(), env("dr@example.net"), testMsg())
	waitFor(t, "quarantine", func() bool { return len(q.List()) == 0 })
	if _, err := os.Stat(filepath.Join(dir, "quarantine", id+".rec")); err != nil {
		t.Fatalf("panicking message not quarantined: %v", err)
	}
}

func TestControlOperations(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := &scripted{fn: func(n int, d *mail.Delivery) []mail.Outcome { return all(d, errors.New("451"), false) }}
	q := startQueue(t, dir, c, func(c *Config) { c.Schedule = []time.Duration{time.Hour} })
	a, _ := q.Enqueue(context.Background(), env("a@example.net"), testMsg())
	b, _ := q.Enqueue(context.Background(), env("b@example.net"), testMsg())
	waitFor(t, "attempts", func() bool { return len(c.delivered()) == 2 })
	if l := q.List(); len(l) != 2 || l[0].State.Rcpts[0].LastError == "" {
		t.Fatalf("list: %+v", l)
	}
	if err := q.Retry(a); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "retry", func() bool { return len(c.delivered()) == 3 })
	if err := q.Delete(b); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Show(b); !errors.Is(err, mail.ErrNoSuchMessage) {
		t.Fatalf("deleted message still shown: %v", err)
	}
	if ids, _ := q.sp.list(); slices.Contains(ids, b) {
		t.Fatal("deleted message still in the spool")
	}
	waitFor(t, "retry to finish", func() bool {
		info, err := q.Show(a)
		return err == nil && !info.Running && info.State.Attempts == 2
	})
	if n := q.Flush(); n != 1 {
		t.Fatalf("flush = %d, want 1", n)
	}
	waitFor(t, "flush", func() bool { return len(c.delivered()) == 4 })
	if err := q.Retry("nope"); !errors.Is(err, mail.ErrNoSuchMessage) {
		t.Fatal("retry of unknown ID")
	}
	if !strings.HasPrefix(a, "0") || !validID(a) {
		t.Fatalf("queue ID %q", a)
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p, spool := filepath.Join(dir, "keys", "spool.key"), filepath.Join(dir, "spool")
	k1, err := LoadOrCreateKey(p, spool)
	if err != nil || len(k1) != 32 {
		t.Fatal(err)
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v", st.Mode())
	}
	k2, _ := LoadOrCreateKey(p, spool)
	if !bytes.Equal(k1, k2) {
		t.Fatal("key changed on reload")
	}
	os.WriteFile(p, []byte("short"), 0o600)
	if _, err := LoadOrCreateKey(p, spool); err == nil {
		t.Fatal("short key accepted")
	}
}

// A missing spool key while the spool holds encrypted mail stops the start
// with an error naming the key file and the spool; no new key is made,
// and the queued message is still there once the key is restored.
func TestMissingSpoolKeyWithQueuedMailIsAnError(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	keyPath, spool := filepath.Join(dir, "keys", "spool.key"), filepath.Join(dir, "spool")
	key, err := LoadOrCreateKey(keyPath, spool)
	if err != nil {
		t.Fatal(err)
	}
	c := &scripted{fn: func(n int, d *mail.Delivery) []mail.Outcome { return all(d, nil, false) }}
	q := startQueue(t, spool, c, func(cfg *Config) { cfg.Key = key })
	e := env("dr@example.net")
	e.Hold = true
	id, err := q.Enqueue(context.Background(), e, testMsg())
	if err != nil {
		t.Fatal(err)
	}
	q.Close(context.Background())
	if err := os.Remove(keyPath); err != nil {
		t.Fatal(err)
	}
	_, err = LoadOrCreateKey(keyPath, spool)
	if err == nil {
		t.Fatal("a new spool key was made for a spool holding mail encrypted with the old one")
	}
	for _, want := range []string{keyPath, spool, "restore the key file"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if _, err := os.Lstat(keyPath); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("key file after the refusal: %v, want none", err)
	}
	// Restored from a backup: the message is there again.
	if err := os.WriteFile(keyPath, key, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKey(keyPath, spool); err != nil {
		t.Fatal(err)
	}
	q2 := startQueue(t, spool, c, func(cfg *Config) { cfg.Key = key })
	if _, err := q2.Show(id); err != nil {
		t.Fatalf("queued message after restoring the key: %v", err)
	}
}

// An empty spool folder, or one holding only empty segment files, needs
// no old key: a missing key is created.
func TestMissingSpoolKeyWithEmptySpoolIsCreated(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	keyPath, spool := filepath.Join(dir, "keys", "spool.key"), filepath.Join(dir, "spool")
	if err := os.MkdirAll(filepath.Join(spool, "quarantine"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(spool, segName(1)), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if k, err := LoadOrCreateKey(keyPath, spool); err != nil || len(k) != keySize {
		t.Fatalf("key for an empty spool: %d bytes, %v", len(k), err)
	}
}

func TestHeldMessageWaitsForRelease(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := &scripted{fn: func(n int, d *mail.Delivery) []mail.Outcome { return all(d, nil, false) }}
	q1 := startQueue(t, dir, c, nil)
	e := env("dr@example.net")
	e.Hold = true
	id, err := q1.Enqueue(context.Background(), e, testMsg())
	if err != nil {
		t.Fatal(err)
	}
	// A message queued after the held one is delivered; by then the
	// scheduler has passed the held one by. Close waits for deliveries in
	// flight, so the count is final.
	if _, err := q1.Enqueue(context.Background(), env("other@example.net"), testMsg()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the message behind the held one", func() bool { return len(c.delivered()) == 1 })
	q1.Close(context.Background())
	if got := c.delivered(); len(got) != 1 || got[0].QueueID == id {
		t.Fatalf("held message delivered: %d deliveries, first %s (held %s)", len(got), got[0].QueueID, id)
	}
	// Still held after a restart, until released.
	q2 := startQueue(t, dir, c, nil)
	if info, err := q2.Show(id); err != nil || !info.Held {
		t.Fatalf("after restart: held=%v err=%v", info.Held, err)
	}
	if err := q2.Retry(id); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "release", func() bool { return len(c.delivered()) == 2 && len(q2.List()) == 0 })
	if got := c.delivered(); got[1].QueueID != id {
		t.Fatalf("released delivery is %s, want %s", got[1].QueueID, id)
	}
}

func TestWritesAfterCloseAreRefused(t *testing.T) {
	t.Parallel()
	c := &scripted{fn: func(n int, d *mail.Delivery) []mail.Outcome { return all(d, nil, false) }}
	q := startQueue(t, t.TempDir(), c, nil)
	q.Close(context.Background())
	if _, err := q.Enqueue(context.Background(), env("a@example.net"), testMsg()); !errors.Is(err, mail.ErrQueueClosed) {
		t.Fatalf("Enqueue after Close: %v", err)
	}
	if err := q.Delete("000000000000000000000000"); !errors.Is(err, mail.ErrQueueClosed) {
		t.Fatalf("Delete after Close: %v", err)
	}
}

// A spool opened with another key than the one that encrypted it is a
// start-up error matching ErrWrongKey, and nothing on disk changes: no
// segment is cut as a torn tail or moved to quarantine. With the right
// key the queued mail is all there.
func TestWrongSpoolKeyChangesNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := &scripted{fn: func(n int, d *mail.Delivery) []mail.Outcome { return all(d, nil, false) }}
	ids := spoolHeld(t, dir, c, 3)
	before := spoolFiles(t, dir)

	other := bytes.Repeat([]byte{8}, 32)
	q2, err := New(Config{Dir: dir, Key: other, Courier: c, Hostname: "gw.example.org"})
	if err == nil {
		err = q2.Start(context.Background())
		q2.Close(context.Background())
	}
	if !errors.Is(err, ErrWrongKey) || !strings.Contains(err.Error(), "queue.key_file") {
		t.Fatalf("spool opened with another key: %v, want ErrWrongKey naming queue.key_file", err)
	}
	if after := spoolFiles(t, dir); fmt.Sprint(before) != fmt.Sprint(after) {
		t.Fatalf("the spool changed under the wrong key:\nbefore %v\nafter  %v", before, after)
	}
	q3 := startQueue(t, dir, c, nil)
	for _, id := range ids {
		if _, err := q3.Show(id); err != nil {
			t.Errorf("message %s with the right key again: %v", id, err)
		}
	}
}

// With the right key, a damaged first record is damage, not a wrong key:
// the spool opens and the records after it are read.
func TestDamagedFirstRecordIsNotAWrongKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := &scripted{fn: func(n int, d *mail.Delivery) []mail.Outcome { return all(d, nil, false) }}
	ids := spoolHeld(t, dir, c, 2)
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if len(segs) != 1 {
		t.Fatalf("segments %v, want one", segs)
	}
	f, err := os.OpenFile(segs[0], os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{0xff, 0xff}, headerLen+20); err != nil { // inside the first payload
		t.Fatal(err)
	}
	f.Close()
	q2 := startQueue(t, dir, c, nil)
	if _, err := q2.Show(ids[1]); err != nil {
		t.Fatalf("the record after a damaged first one: %v", err)
	}
	if _, err := q2.Show(ids[0]); err == nil {
		t.Error("the damaged first record was read as sound")
	}
}

// spoolFiles maps every file under dir to its size.
func spoolFiles(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		out[p] = fi.Size()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A recipient that asked for NOTIFY=SUCCESS gets a success notice from
// sealgate ("relayed") only when the next hop did not take NOTIFY on: a
// next hop that announced DSN sends its own, and a second one would be a
// duplicate (RFC 3461 §4.2, §6.2).
func TestSuccessNoticeOnlyWhereNotifyStopped(t *testing.T) {
	t.Parallel()
	c := &scripted{fn: func(n int, d *mail.Delivery) []mail.Outcome {
		out := all(d, nil, false)
		for i, r := range d.Rcpts {
			out[i].DSNPassed = r.Addr == "dsn@example.net"
		}
		return out
	}}
	q := startQueue(t, t.TempDir(), c, nil)
	e := env("dsn@example.net", "nodsn@example.net", "quiet@example.net")
	e.Rcpts[0].Notify = []string{"SUCCESS", "FAILURE"}
	e.Rcpts[1].Notify = []string{"SUCCESS"}
	if _, err := q.Enqueue(context.Background(), e, testMsg()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the notice", func() bool { return len(c.delivered()) == 2 && len(q.List()) == 0 })
	notice := c.delivered()[1]
	if notice.From != "" || len(notice.Rcpts) != 1 || notice.Rcpts[0].Addr != "lab@clinic.example.org" {
		t.Fatalf("notice envelope: from %q to %v", notice.From, notice.Rcpts)
	}
	body := string(notice.Body)
	if !strings.Contains(body, "Final-Recipient: rfc822; nodsn@example.net") || !strings.Contains(body, "Action: relayed") {
		t.Errorf("notice lacks the relayed recipient:\n%s", body)
	}
	for _, other := range []string{"Final-Recipient: rfc822; dsn@example.net", "Final-Recipient: rfc822; quiet@example.net", "Action: delivered"} {
		if strings.Contains(body, other) {
			t.Errorf("notice has %q:\n%s", other, body)
		}
	}
}

// spoolHeld leaves n messages held in the spool at dir, the queue closed,
// and returns their IDs.
func spoolHeld(t *testing.T, dir string, c mail.Courier, n int) []string {
	t.Helper()
	q := startQueue(t, dir, c, nil)
	var ids []string
	for range n {
		e := env("dr@example.net")
		e.Hold = true
		id, err := q.Enqueue(context.Background(), e, testMsg())
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	q.Close(context.Background())
	return ids
}
