package testenv

import "testing"

// Concurrently runs f on n goroutines at once and reports every error it
// returns as a test error, once all have returned.
func Concurrently(t testing.TB, n int, f func() error) {
	t.Helper()
	errs := make(chan error, n)
	for range n {
		go func() { errs <- f() }()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
