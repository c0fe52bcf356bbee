package queue

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sealgate/sealgate/mail"
)

// A message half delivered on one node and handed to another keeps its
// recipients' state there, durably: the peer delivers only the recipient
// still pending, also after a restart, and the first node's spool is
// empty afterwards, also after a restart.
func TestHandOffKeepsRecipientState(t *testing.T) {
	t.Parallel()
	dirA, dirB := t.TempDir(), t.TempDir()
	a := startQueue(t, dirA, &scripted{fn: func(_ int, d *mail.Delivery) []mail.Outcome {
		var out []mail.Outcome
		for _, r := range d.Rcpts {
			if r.Addr == "done@example.net" {
				out = append(out, mail.Outcome{Rcpt: r.Addr, Code: 250})
			} else {
				out = append(out, mail.Outcome{Rcpt: r.Addr, Err: errors.New("451 try later"), Code: 451})
			}
		}
		return out
	}}, func(c *Config) { c.Schedule = []time.Duration{time.Hour} })
	id, err := a.Enqueue(context.Background(), env("done@example.net", "later@example.org"), testMsg())
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "first attempt", func() bool {
		info, err := a.Show(id)
		return err == nil && !info.Running && info.State.Attempts >= 1
	})
	a.Pause()
	keyB := bytes.Repeat([]byte{9}, 32)
	idle := &scripted{fn: func(int, *mail.Delivery) []mail.Outcome { return nil }}
	b, err := New(Config{Dir: dirB, Key: keyB, Courier: idle})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	b.Pause()
	moved, err := a.HandOff(context.Background(), func(_ context.Context, h Handed) error { return b.Import(h) })
	if err != nil || moved != 1 {
		t.Fatalf("hand-off: moved %d, %v", moved, err)
	}
	if c := a.Counts(); c.Messages != 0 {
		t.Fatalf("node A still counts %d messages", c.Messages)
	}
	b.Close(context.Background())
	if len(idle.delivered()) != 0 {
		t.Fatal("paused peer delivered")
	}
	a.Close(context.Background())
	a2 := startQueue(t, dirA, &scripted{fn: func(int, *mail.Delivery) []mail.Outcome { return nil }}, nil)
	if n := len(a2.List()); n != 0 {
		t.Fatalf("node A's spool holds %d messages after restart", n)
	}

	got := make(chan mail.Delivery, 4)
	b2 := startQueue(t, dirB, &scripted{fn: func(_ int, d *mail.Delivery) []mail.Outcome {
		got <- *d
		return all(d, nil, false)
	}}, func(c *Config) { c.Key = keyB })
	b2.Flush()
	select {
	case d := <-got:
		if d.QueueID != id || len(d.Rcpts) != 1 || d.Rcpts[0].Addr != "later@example.org" {
			t.Fatalf("peer delivered %s to %v, want %s to later@example.org only", d.QueueID, d.Rcpts, id)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("peer did not deliver the handed-over message")
	}
	waitFor(t, "peer done", func() bool { return b2.Counts().Messages == 0 })
}

// A send that fails leaves the message where it is, deliverable again.
func TestHandOffRefusedKeepsMessage(t *testing.T) {
	t.Parallel()
	delivered := make(chan string, 1)
	block := make(chan struct{})
	a := startQueue(t, t.TempDir(), &scripted{fn: func(_ int, d *mail.Delivery) []mail.Outcome {
		<-block
		delivered <- d.QueueID
		return all(d, nil, false)
	}}, nil)
	a.Pause()
	close(block)
	id, err := a.Enqueue(context.Background(), env("dr@example.net"), testMsg())
	if err != nil {
		t.Fatal(err)
	}
	refused := errors.New("peer refused")
	moved, err := a.HandOff(context.Background(), func(context.Context, Handed) error { return refused })
	if moved != 0 || !errors.Is(err, refused) {
		t.Fatalf("hand-off: moved %d, %v", moved, err)
	}
	if _, err := a.Show(id); err != nil {
		t.Fatalf("message gone after a refused hand-off: %v", err)
	}
	a.Resume()
	select {
	case got := <-delivered:
		if got != id {
			t.Fatalf("delivered %s, want %s", got, id)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("message not delivered after Resume")
	}
}

// A hand-off repeated after a crash (the peer acknowledged, the sender
// died before removing) is kept once; a state that does not match its
// envelope is refused.
func TestImportOnceAndChecked(t *testing.T) {
	t.Parallel()
	b := startQueue(t, t.TempDir(), &scripted{fn: func(int, *mail.Delivery) []mail.Outcome { return nil }}, nil)
	b.Pause()
	e := env("dr@example.net")
	e.ID, e.Version, e.Received = NewID(), metaVersion, time.Now()
	h := Handed{Env: e, State: newState(e, time.Now()), Body: testMsg()}
	for range 2 {
		if err := b.Import(h); err != nil {
			t.Fatal(err)
		}
	}
	if c := b.Counts(); c.Messages != 1 {
		t.Fatalf("%d messages after a repeated import, want 1", c.Messages)
	}
	bad := h
	bad.Env = &mail.Envelope{ID: NewID(), Received: time.Now(), Rcpts: []mail.Rcpt{{Addr: "a@example.net"}, {Addr: "b@example.net"}}}
	if err := b.Import(bad); err == nil {
		t.Fatal("import with a state for other recipients accepted")
	}
}
