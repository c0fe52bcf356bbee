package queue

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// faultKind makes the fault function for a failure at call n.
type faultKind struct {
	name string
	at   func(n int) faultFunc
}

var faultKinds = []faultKind{
	{"ENOSPC", func(n int) faultFunc { return failCalls(n, n+1, syscall.ENOSPC, false) }},
	{"EIO", func(n int) faultFunc { return failCalls(n, n+1, syscall.EIO, false) }},
	{"short write", func(n int) faultFunc { return failCalls(n, n+1, syscall.ENOSPC, true) }},
	{"disk full for 40 calls", func(n int) faultFunc { return failCalls(n, n+40, syscall.ENOSPC, true) }},
}

// failCalls fails calls [from, to) with err. With short, a failing write
// first puts half its bytes into the file.
func failCalls(from, to int, err error, short bool) faultFunc {
	return func(n int, op, _ string) (error, int) {
		if n < from || n >= to || op == "close" {
			return nil, 0
		}
		if short && op == "write" {
			return err, 1 << 30 // cut to half below
		}
		return err, 0
	}
}

// TestFailureInjectionAtEveryCall runs the workload once per file-system
// call of a clean run and per fault kind, failing that call (ENOSPC, EIO,
// a short write) or every call for a while from it (a full disk). When the
// fault has cleared: every acknowledged message is delivered, nothing is
// delivered twice, each bounce has one DSN, nothing is quarantined, the
// spool has no pile of segment files, and a restart finds it consistent.
func TestFailureInjectionAtEveryCall(t *testing.T) {
	t.Parallel()
	clean := newMemSpool()
	clean.rec = true
	if err := runWorkload(clean, false, nil); err != nil {
		t.Fatal(err)
	}
	calls := clean.calls + 10 // a faulty run makes a few more
	t.Logf("%d file-system calls in a clean run", clean.calls)

	type run struct {
		kind faultKind
		n    int
	}
	runs := make(chan run)
	var mu sync.Mutex
	var failures, done int
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range runs {
				err := faultRun(r.kind.at(r.n))
				mu.Lock()
				done++
				if err != nil && failures < 5 {
					failures++
					t.Errorf("%s at call %d: %v", r.kind.name, r.n, err)
				}
				mu.Unlock()
			}
		}()
	}
	for n := 1; n <= calls; n++ {
		for i, k := range faultKinds {
			// A disk full for 40 calls starting at every fourth call
			// covers the same stretches as starting at each one.
			if i == len(faultKinds)-1 && n%4 != 1 {
				continue
			}
			runs <- run{k, n}
		}
	}
	close(runs)
	wg.Wait()
	t.Logf("%d faulty runs", done)
}

// faultRun runs the workload with one fault and checks the outcome.
func faultRun(f faultFunc) error {
	m := newMemSpool()
	m.rec = true
	var mu sync.Mutex
	m.fault = func(n int, op, path string) (error, int) {
		mu.Lock()
		defer mu.Unlock()
		err, short := f(n, op, path)
		return err, short
	}
	err := runWorkload(m, true, func() { m.setFault(nil) })
	m.setFault(nil)
	exp := newExpectation()
	for _, op := range m.log {
		if op.kind == "mark" {
			exp.note(op.mark)
		}
	}
	if err != nil {
		if len(exp.acked) == 0 && strings.HasPrefix(err.Error(), "New") {
			return nil // the spool could not be read at start: nothing accepted
		}
		return err
	}
	if n := m.segmentFiles("/spool"); n > 3 {
		return fmt.Errorf("%d segment files left after the workload", n)
	}
	if err := checkRecovery(m, exp, true); err != nil {
		return fmt.Errorf("after restart: %w", err)
	}
	return nil
}
