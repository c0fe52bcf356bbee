package queue

import (
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"

	"github.com/sealgate/sealgate/mail"
)

// storageError is a failed file operation of the spool writer. It
// matches ErrInsufficientStorage when its cause is a storage condition.
type storageError struct {
	op  string // create, write, sync, truncate
	err error
}

func (e *storageError) Error() string { return "spool " + e.op + ": " + e.err.Error() }
func (e *storageError) Unwrap() error { return e.err }
func (e *storageError) Is(target error) bool {
	return target == mail.ErrInsufficientStorage && mail.IsInsufficientStorage(e.err)
}

// reserveError refuses new mail below the free-space floor.
type reserveError struct{ free, floor int64 }

func (e *reserveError) Error() string {
	return fmt.Sprintf("spool file system has %s free, below queue.min_free %s", mib(e.free), mib(e.floor))
}
func (e *reserveError) Is(target error) bool { return target == mail.ErrInsufficientStorage }

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// storageHealth remembers the spool's last failed file operation, for
// /readyz. A failure counts until a later write succeeds or, when nothing
// is written, until failureMemory has passed: no stuck state needs a
// restart to clear.
type storageHealth struct {
	mu     sync.Mutex
	err    error
	at     time.Time
	onFail func(op string) // counts sealgate_queue_storage_errors_total
}

const failureMemory = 10 * time.Second

func (h *storageHealth) fail(op string, err error) {
	h.mu.Lock()
	h.err, h.at = err, time.Now()
	h.mu.Unlock()
	if h.onFail != nil {
		h.onFail(op)
	}
}

func (h *storageHealth) ok() {
	h.mu.Lock()
	h.err = nil
	h.mu.Unlock()
}

// status returns the recent failure, or nil.
func (h *storageHealth) status(now time.Time) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err == nil || now.Sub(h.at) > failureMemory {
		return nil
	}
	return h.err
}

// errnoText is the system error's own text (e.g. "no space left on
// device") without the file names around it.
func errnoText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	return err.Error()
}
