package queue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/sealgate/sealgate/mail"
)

// memQueue starts a queue on an in-memory file system.
func memQueue(t *testing.T, m *memFS, c mail.Courier, mod func(*Config)) *Queue {
	t.Helper()
	return startQueue(t, "/spool", c, func(cfg *Config) {
		cfg.fs = m
		if mod != nil {
			mod(cfg)
		}
	})
}

func newMemSpool() *memFS {
	m := newMemFS()
	m.mkdirLocked("/spool")
	return m
}

// Regression: every commit that failed on a full disk rotated to a new
// segment, leaving thousands of empty segment files after one burst.
func TestFailedCommitsDoNotRotateSegments(t *testing.T) {
	t.Parallel()
	m := newMemSpool()
	var full atomic.Bool
	m.setFault(failWhile(full.Load, syscall.ENOSPC, "write"))
	c := &scripted{fn: func(n int, d *mail.Delivery) []mail.Outcome { return all(d, errors.New("451 later"), false) }}
	q := memQueue(t, m, c, func(cfg *Config) { cfg.Schedule = []time.Duration{time.Hour} })
	// A waiting message keeps the oldest segment, so segments after it
	// stay until it goes.
	waiting, err := q.Enqueue(context.Background(), env("w@example.net"), testMsg())
	if err != nil {
		t.Fatal(err)
	}
	before := m.segmentFiles("/spool")
	full.Store(true)
	for i := 0; i < 200; i++ {
		if _, err := q.Enqueue(context.Background(), env("a@example.net"), testMsg()); err == nil {
			t.Fatal("Enqueue succeeded on a full disk")
		}
	}
	if n := m.segmentFiles("/spool"); n > before+1 {
		t.Fatalf("%d segment files after 200 failed commits (were %d): the writer rotates on failure", n, before)
	}
	full.Store(false)
	id, err := q.Enqueue(context.Background(), env("a@example.net"), testMsg())
	if err != nil {
		t.Fatalf("Enqueue after space came back: %v", err)
	}
	q.Close(context.Background())
	q2 := memQueue(t, m, c, func(cfg *Config) { cfg.Schedule = []time.Duration{time.Hour} })
	if _, err := q2.Show(id); err != nil {
		t.Fatalf("message accepted after the disk filled up and freed is lost: %v", err)
	}
	if _, err := q2.Show(waiting); err != nil {
		t.Fatalf("waiting message lost: %v", err)
	}
	if n := len(q2.List()); n != 2 {
		t.Fatalf("%d messages after restart, want only the two acknowledged", n)
	}
}

// Regression: recovery that could not write the quarantine copy of a
// damaged region made New fail, so the gateway did not start on a full
// disk, and delivery (which frees space) never ran.
func TestStartsWhenQuarantineCopyCannotBeWritten(t *testing.T) {
	t.Parallel()
	m := newMemSpool()
	down := &scripted{fn: func(n int, d *mail.Delivery) []mail.Outcome { return all(d, errors.New("451"), false) }}
	slow := func(cfg *Config) { cfg.Schedule = []time.Duration{time.Hour} }
	q1 := memQueue(t, m, down, slow)
	a, _ := q1.Enqueue(context.Background(), env("a@example.net"), testMsg())
	b, _ := q1.Enqueue(context.Background(), env("b@example.net"), testMsg())
	q1.Close(context.Background())
	// Damage a's record, which is followed by b's: a damaged region, not a
	// torn tail.
	files := m.files("/spool")
	var seg string
	for name, data := range files {
		if _, ok := parseSegName(name); ok && len(data) > 0 {
			seg = name
		}
	}
	data := files[seg]
	data[headerLen+40] ^= 0xff
	m.putFile(filepath.Join("/spool", seg), data)
	// The disk is full: no new file can be written.
	m.setFault(failWhile(func() bool { return true }, syscall.ENOSPC, "write"))

	up := &scripted{fn: func(n int, d *mail.Delivery) []mail.Outcome { return all(d, nil, false) }}
	q2 := memQueue(t, m, up, nil)
	if _, err := q2.Show(a); err == nil {
		t.Error("damaged message recovered")
	}
	// q1 may have tried b before it closed and kept it for an hour; due
	// now either way.
	q2.Flush()
	waitFor(t, "delivery of the intact message on the full disk", func() bool {
		ds := up.delivered()
		return len(ds) == 1 && ds[0].QueueID == b
	})
	if q2.sp.corrupt != 1 {
		t.Errorf("damaged regions counted: %d, want 1", q2.sp.corrupt)
	}
	_, kept := m.files("/spool")[seg]
	_, moved := m.files("/spool/quarantine")[seg+".damaged"]
	if !kept && !moved {
		t.Error("segment with the damaged region was deleted although its quarantine copy was never written")
	}
}

// Regression: a read-only spool (EROFS on every write) made New fail.
func TestStartsOnReadOnlySpool(t *testing.T) {
	t.Parallel()
	m := newMemSpool()
	down := &scripted{fn: func(n int, d *mail.Delivery) []mail.Outcome { return all(d, errors.New("451"), false) }}
	q1 := memQueue(t, m, down, func(cfg *Config) { cfg.Schedule = []time.Duration{time.Hour} })
	var ids []string
	for i := 0; i < 3; i++ {
		id, err := q1.Enqueue(context.Background(), env(fmt.Sprintf("r%d@example.net", i)), testMsg())
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	q1.Close(context.Background())
	m.setFault(failWhile(func() bool { return true }, syscall.EROFS, "write", "open", "truncate", "sync", "syncdir", "rename", "remove", "mkdir"))
	m.mu.Lock()
	m.fault = func(n int, op, path string) (error, int) {
		if op == "open" && filepath.Ext(path) == segSuffix {
			// Existing segments open; nothing can be created.
			if _, ok := m.dirs["/spool"].names[filepath.Base(path)]; ok {
				return nil, 0
			}
		}
		switch op {
		case "write", "open", "truncate", "sync", "syncdir", "rename", "remove":
			return syscall.EROFS, 0
		}
		return nil, 0
	}
	m.mu.Unlock()
	up := &scripted{fn: func(n int, d *mail.Delivery) []mail.Outcome { return all(d, nil, false) }}
	q2 := memQueue(t, m, up, nil)
	q2.Flush()
	waitFor(t, "deliveries from a read-only spool", func() bool { return len(up.delivered()) == len(ids) })
	if _, err := q2.Enqueue(context.Background(), env("new@example.net"), testMsg()); err == nil {
		t.Fatal("Enqueue succeeded on a read-only spool")
	}
}

// A full disk at accept time is an ErrInsufficientStorage, counted, and
// reported by Storage (for /readyz) until writing works again.
func TestFullDiskIsInsufficientStorageAndReported(t *testing.T) {
	t.Parallel()
	m := newMemSpool()
	var full atomic.Bool
	m.setFault(failWhile(full.Load, syscall.ENOSPC, "write"))
	reg := prometheus.NewRegistry()
	c := &scripted{fn: func(n int, d *mail.Delivery) []mail.Outcome { return all(d, nil, false) }}
	q := memQueue(t, m, c, func(cfg *Config) { cfg.Registerer = reg })
	if err := q.Storage(); err != nil {
		t.Fatalf("healthy spool reports %v", err)
	}
	full.Store(true)
	_, err := q.Enqueue(context.Background(), env("a@example.net"), testMsg())
	if !errors.Is(err, mail.ErrInsufficientStorage) || !mail.IsInsufficientStorage(err) {
		t.Fatalf("Enqueue on a full disk: %v, want ErrInsufficientStorage", err)
	}
	st := q.Storage()
	if st == nil || !strings.Contains(st.Error(), "no space left on device") || strings.Contains(st.Error(), "/spool") {
		t.Fatalf("Storage() = %v, want the reason without file names", st)
	}
	if got := testutil.ToFloat64(q.m.storageErrors.WithLabelValues("write")); got < 1 {
		t.Fatalf("sealgate_queue_storage_errors_total{op=write} = %v", got)
	}
	full.Store(false)
	if _, err := q.Enqueue(context.Background(), env("a@example.net"), testMsg()); err != nil {
		t.Fatal(err)
	}
	if err := q.Storage(); err != nil {
		t.Fatalf("after a successful write Storage() = %v", err)
	}
}

// Below MinFree new mail is refused, while state records and DSNs are
// still written: the reserve is for them (like Postfix's queue_minfree).
func TestFreeSpaceFloorRefusesNewMailNotDSNs(t *testing.T) {
	t.Parallel()
	m := newMemSpool()
	m.capacity = 64 << 10
	const floor = 16 << 10
	release := make(chan struct{})
	var mu sync.Mutex
	var dsns int
	c := &scripted{fn: func(n int, d *mail.Delivery) []mail.Outcome {
		if d.From == "" {
			mu.Lock()
			dsns++
			mu.Unlock()
			return all(d, errors.New("451 later"), false) // the DSN stays queued
		}
		// Every first attempt waits, so no state record is written
		// (records may use the reserve) while the floor is measured.
		<-release
		if d.Rcpts[0].Addr == "gone@example.net" {
			return all(d, errors.New("550 5.1.1 no such user"), true)
		}
		return all(d, errors.New("451 later"), false)
	}}
	q := memQueue(t, m, c, func(cfg *Config) {
		cfg.MinFree = floor
		cfg.Schedule = []time.Duration{time.Hour}
	})
	var once sync.Once
	open := func() { once.Do(func() { close(release) }) }
	t.Cleanup(open) // runs before the queue's own cleanup, even after a failure
	if err := q.CheckSpace(1000); err != nil {
		t.Fatalf("CheckSpace on an empty spool: %v", err)
	}
	body := bytes.Repeat([]byte("x"), 2000)
	if _, err := q.Enqueue(context.Background(), env("gone@example.net"), body); err != nil {
		t.Fatal(err)
	}
	var refused error
	for i := 0; i < 100 && refused == nil; i++ {
		_, refused = q.Enqueue(context.Background(), env("wait@example.net"), body)
	}
	if !errors.Is(refused, mail.ErrInsufficientStorage) {
		t.Fatalf("never refused below the floor: %v", refused)
	}
	if free, _ := m.Free("/spool"); free < floor {
		t.Fatalf("free space %d: new mail went into the reserve of %d", free, floor)
	}
	// Something else fills the disk further, into the reserve.
	m.mu.Lock()
	m.capacity = m.usedLocked() + floor/2
	m.mu.Unlock()
	if err := q.CheckSpace(0); !errors.Is(err, mail.ErrInsufficientStorage) {
		t.Fatalf("CheckSpace below the floor: %v", err)
	}
	if st := q.Storage(); st == nil || !strings.Contains(st.Error(), "min_free") {
		t.Fatalf("Storage() below the floor = %v", st)
	}
	// A bounce below the floor still gets its state and DSN written.
	open()
	waitFor(t, "the DSN below the floor", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return dsns == 1
	})
}
