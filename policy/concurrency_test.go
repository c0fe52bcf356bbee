package policy

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestConcurrentChecks runs the same messages from several goroutines on one engine and
// expects the verdicts of a sequential run.
func TestConcurrentChecks(t *testing.T) {
	paths, _ := filepath.Glob("testdata/seeds/*.eml")
	if len(paths) == 0 {
		t.Fatal("no seed messages")
	}
	eng := newTestEngine(t, Config{})
	var msgs [][]byte
	var want []bool
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		v, _ := eng.Check(context.Background(), b, Input{})
		msgs, want = append(msgs, b), append(want, v.PHI)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := 0; round < 5; round++ {
				for i, m := range msgs {
					v, err := eng.Check(context.Background(), m, Input{})
					if err != nil || v.PHI != want[i] {
						errs <- paths[i]
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for p := range errs {
		t.Errorf("concurrent verdict differs for %s", p)
	}
}
