package queue

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sealgate/sealgate/mail"
)

// A crash while a message's second recipient domain is being delivered
// does not deliver to the first domain's recipients again: their outcome
// is written before the next domain is tried. The crash is what kill -9
// leaves behind, the spool's files as written so far, copied while the
// delivery to the second domain hangs.
func TestCrashDuringSecondDomainDoesNotRepeatFirst(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	inB, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	c := &scripted{fn: func(n int, d *mail.Delivery) []mail.Outcome {
		if d.Domain == "b.example" {
			once.Do(func() { close(inB) })
			<-release
			return all(d, errors.New("try later"), false)
		}
		return all(d, nil, false)
	}}
	q := startQueue(t, dir, c, nil)
	if _, err := q.Enqueue(context.Background(), env("dr@a.example", "dr@b.example"), testMsg()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-inB:
	case <-time.After(30 * time.Second):
		t.Fatal("no delivery to the second domain")
	}
	crashed := copySegments(t, dir)
	close(release)

	again := &scripted{fn: func(n int, d *mail.Delivery) []mail.Outcome { return all(d, nil, false) }}
	q2 := startQueue(t, crashed, again, nil)
	waitFor(t, "the recovered message to be delivered", func() bool { return len(q2.List()) == 0 })
	for _, d := range again.delivered() {
		if d.Domain == "a.example" {
			t.Fatal("after the crash, the recipient at a.example, delivered before it, got the message again")
		}
	}
	if n := len(again.delivered()); n != 1 {
		t.Fatalf("%d deliveries after the crash, want 1 (b.example)", n)
	}
}

// copySegments copies the segment files of the spool in dir, as they are
// now, into a new spool folder and returns it.
func copySegments(t *testing.T, dir string) string {
	t.Helper()
	to := t.TempDir()
	segs, err := filepath.Glob(filepath.Join(dir, "*"+segSuffix))
	if err != nil || len(segs) == 0 {
		t.Fatalf("segments in %s: %v, %v", dir, segs, err)
	}
	for _, p := range segs {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, filepath.Base(p)), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return to
}
