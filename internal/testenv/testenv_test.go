package testenv

import (
	"sync/atomic"
	"testing"
	"time"
)

// fakeTB records how a helper ended the test. Unlike a real test it
// returns from Fatalf and Skip, so the helpers must not go on afterwards.
type fakeTB struct {
	testing.TB
	failed, skipped bool
}

func (f *fakeTB) Helper()               {}
func (f *fakeTB) Fatalf(string, ...any) { f.failed = true }
func (f *fakeTB) Skip(...any)           { f.skipped = true }

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
