package keydir

import (
	"sync"
	"time"
)

// Index is a folder of key material (OpenPGP keys, certificates) indexed by
// e-mail address. It is reloaded as a whole and swapped atomically, and is
// safe for concurrent use. T is the key or certificate type.
type Index[T any] struct {
	dir   string
	load  func(name string, now time.Time) []T // one file; unusable entries skipped with a log line
	addrs func(v T, now time.Time) []string    // normalised addresses v is for

	mu     sync.RWMutex
	stamp  string
	byAddr map[string][]T
	count  int
}

// NewIndex returns an empty index over dir; call Reload to fill it.
func NewIndex[T any](dir string, load func(string, time.Time) []T, addrs func(T, time.Time) []string) *Index[T] {
	return &Index[T]{dir: dir, load: load, addrs: addrs}
}

// Reload reads every file of the folder again and replaces the index. It
// returns how many files and entries it read. On error the previous index
// stays in use.
func (x *Index[T]) Reload(now time.Time) (files, entries int, err error) {
	stamp, err := Stamp(x.dir)
	if err != nil {
		return 0, 0, err
	}
	names, err := List(x.dir)
	if err != nil {
		return 0, 0, err
	}
	idx := make(map[string][]T)
	for _, name := range names {
		for _, v := range x.load(name, now) {
			entries++
			for _, a := range x.addrs(v, now) {
				idx[a] = append(idx[a], v)
			}
		}
	}
	x.mu.Lock()
	x.byAddr, x.count, x.stamp = idx, entries, stamp
	x.mu.Unlock()
	return len(names), entries, nil
}

// Changed reports whether a file of the folder was added, removed or
// rewritten since the last Reload.
func (x *Index[T]) Changed() (bool, error) {
	stamp, err := Stamp(x.dir)
	if err != nil {
		return false, err
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	return stamp != x.stamp, nil
}

// Len returns how many entries the index holds.
func (x *Index[T]) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.count
}

// Candidates returns the entries for a normalised address.
func (x *Index[T]) Candidates(addr string) []T {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.byAddr[addr]
}
