package testenv

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeTB records how a helper ended the test. Unlike a real test it
// returns from Fatalf and Skip, so the helpers must not go on afterwards.
type fakeTB struct {
	testing.TB
	failed, skipped, errored bool
	msg                      string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed, f.msg = true, fmt.Sprintf(format, args...)
}
func (f *fakeTB) Skip(...any)  { f.skipped = true }
func (f *fakeTB) Error(...any) { f.errored = true }

func TestMissingFailsInCIAndSkipsElsewhere(t *testing.T) {
	t.Setenv("CI", "true")
	f := &fakeTB{}
	Missing(f, "gpg")
	if !f.failed || f.skipped {
		t.Fatalf("in CI: failed=%v skipped=%v; want a failure", f.failed, f.skipped)
	}
	t.Setenv("CI", "")
	f = &fakeTB{}
	Missing(f, "gpg")
	if f.failed || !f.skipped {
		t.Fatalf("outside CI: failed=%v skipped=%v; want a skip", f.failed, f.skipped)
	}
	t.Setenv("CI", "1") // only CI=true is CI
	if InCI() {
		t.Fatal("CI=1 taken for CI")
	}
}

func TestTool(t *testing.T) {
	if p := Tool(t, "no-such-tool-sealgate", "sh"); p == "" {
		t.Fatal("sh not found")
	}
	t.Setenv("CI", "true")
	f := &fakeTB{}
	if p := Tool(f, "no-such-tool-sealgate"); p != "" || !f.failed {
		t.Fatalf("missing tool in CI: path %q, failed=%v", p, f.failed)
	}
}

func TestWaitFor(t *testing.T) {
	var n atomic.Int32
	go func() {
		for range 3 {
			n.Add(1)
		}
	}()
	WaitFor(t, 5*time.Second, "three", func() bool { return n.Load() == 3 })
	f := &fakeTB{}
	WaitFor(f, 20*time.Millisecond, "never", func() bool { return false })
	if !f.failed {
		t.Fatal("WaitFor did not fail on a condition that never holds")
	}
}

func TestWaitForStateQuotesTheLastState(t *testing.T) {
	var n atomic.Int32
	go func() {
		for range 3 {
			n.Add(1)
		}
	}()
	WaitForState(t, 5*time.Second, "three", func() (bool, string) {
		v := n.Load()
		return v == 3, fmt.Sprint(v)
	})
	f := &fakeTB{}
	calls := 0
	WaitForState(f, 20*time.Millisecond, "never", func() (bool, string) {
		calls++
		return false, fmt.Sprintf("call %d", calls)
	})
	if !f.failed || !strings.Contains(f.msg, "never") || !strings.Contains(f.msg, fmt.Sprintf("last seen: call %d", calls)) {
		t.Fatalf("failed=%v message %q after %d calls; want the last state quoted", f.failed, f.msg, calls)
	}
}

func TestPollLooksOnceMoreAfterTheDeadline(t *testing.T) {
	calls := 0
	held := Poll(10*time.Millisecond, func() bool {
		calls++
		if calls == 1 {
			time.Sleep(30 * time.Millisecond) // descheduled past the deadline
			return false
		}
		return true
	})
	if !held || calls != 2 {
		t.Fatalf("held=%v after %d calls: Poll gave up on a look that began before its deadline", held, calls)
	}
	if Poll(10*time.Millisecond, func() bool { return false }) {
		t.Fatal("Poll reported a condition that never holds")
	}
}

// Buffer keeps every write of concurrent writers, readable meanwhile.
func TestBufferConcurrentWritesAndReads(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				b.Write([]byte("x"))
				_ = b.String()
			}
		}()
	}
	wg.Wait()
	if got := b.String(); got != strings.Repeat("x", 800) {
		t.Fatalf("Buffer holds %d bytes, want 800", len(got))
	}
}

// Clock reads what it was set to and moves only when told.
func TestClock(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	c := NewClock(t0)
	if !c.Now().Equal(t0) || !c.Now().Equal(t0) {
		t.Fatalf("Now = %v, want %v", c.Now(), t0)
	}
	c.Add(90 * time.Second)
	if want := t0.Add(90 * time.Second); !c.Now().Equal(want) {
		t.Fatalf("after Add: %v, want %v", c.Now(), want)
	}
}

// Concurrently runs f n times and reports what fails.
func TestConcurrently(t *testing.T) {
	var n atomic.Int32
	Concurrently(t, 8, func() error { n.Add(1); return nil })
	if n.Load() != 8 {
		t.Fatalf("f ran %d times, want 8", n.Load())
	}
	f := &fakeTB{}
	Concurrently(f, 3, func() error { return fmt.Errorf("boom") })
	if !f.errored {
		t.Fatal("errors of f were not reported")
	}
}
