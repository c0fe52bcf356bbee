// Package testenv is what sealgate's tests share about the machine they run
// on: whether they run in CI, what to do when a tool is missing, and how to
// wait for something to happen without a fixed sleep.
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
	deadline := time.Now().Add(within)
	for {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}
