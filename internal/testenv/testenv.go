// Package testenv is what sealgate's tests share about the machine they run
// on: whether they run in CI, what to do when a tool is missing, how to
// wait for something to happen without a fixed sleep, and a buffer to read
// logs from while the code under test still writes them.
//
// The CI rule: CI runs with CI=true on a machine where .ci/run installed
// every tool the tests use, so there a missing tool, or a missing right
// such as root, fails the test. Elsewhere it skips it with the reason.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"
)

// InCI reports whether the tests run in CI (CI=true).
func InCI() bool { return os.Getenv("CI") == "true" }

// Missing ends the test for want of something the machine lacks: it fails
// in CI and skips elsewhere.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	why := fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatalf("required in CI: %s", why)
		return
	}
	t.Skip(why)
}

// Tool returns the path of the first of names found (a name with a slash is
// a path, others are looked up in PATH), or ends the test through Missing.
func Tool(t testing.TB, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	Missing(t, "%v not installed", names)
	return ""
}

// WaitFor polls cond until it holds, and fails the test when it still does
// not after within. It is for waiting on something that must happen; it
// proves nothing about what must not.
func WaitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Poll(within, cond) {
		t.Fatalf("timed out after %v waiting for %s", within, what)
	}
}

// WaitForState is WaitFor for a condition that can say where it stands:
// cond reports whether it holds and a description of what it saw, and the
// failure after within quotes the last description.
func WaitForState(t testing.TB, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	var last string
	if !Poll(within, func() (ok bool) { ok, last = cond(); return ok }) {
		t.Fatalf("timed out after %v waiting for %s; last seen: %s", within, what, last)
	}
}

// Poll calls cond until it holds or within has passed, and reports whether
// it held; the caller decides what a timeout means. It gives up only after a
// call that began once the time was up, so a test descheduled for the whole
// wait on a busy machine still gets a look after it. The pause between calls
// grows from 5 ms to 100 ms so a long wait does not load the machine it waits
// on.
func Poll(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	pause := 5 * time.Millisecond
	for {
		late := time.Now().After(deadline)
		if cond() {
			return true
		}
		if late {
			return false
		}
		time.Sleep(pause)
		pause = min(2*pause, 100*time.Millisecond)
	}
}
