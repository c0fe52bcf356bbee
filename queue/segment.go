package queue

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// segment is one append-only spool file, named by its sequence number.
type segment struct {
	num     uint64
	path    string
	created time.Time

	fs     fileSystem
	mu     sync.RWMutex // readers against deletion
	f      spoolFile
	closed bool

	// Owned by the writer goroutine (and the scan before it starts):
	size int64
	refs int // latest message or state records of queued messages held here
	// dirty: the file may hold bytes after size (a failed write, or a
	// torn tail that could not be cut); they are cut before the next write.
	dirty bool
	// readOnly: opened for reading only (a read-only file system).
	readOnly bool
	// unsaved are damaged regions whose quarantine copy could not be
	// written yet.
	unsaved []region
}

// region is a damaged byte range of a segment.
type region struct{ off, end int64 }

const segSuffix = ".seg"

func segName(num uint64) string { return fmt.Sprintf("%016x%s", num, segSuffix) }

func parseSegName(name string) (uint64, bool) {
	hexNum, ok := strings.CutSuffix(name, segSuffix)
	if !ok || len(hexNum) != 16 {
		return 0, false
	}
	n, err := strconv.ParseUint(hexNum, 16, 64)
	return n, err == nil
}

// createSegment makes a new, empty segment and makes its directory entry
// durable, so records later fdatasync'd into it can be found after a crash.
func createSegment(fsys fileSystem, dir string, num uint64) (*segment, error) {
	path := filepath.Join(dir, segName(num))
	f, err := fsys.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	if err := fsys.SyncDir(dir); err != nil {
		f.Close()
		return nil, fmt.Errorf("spool: %w", err)
	}
	return &segment{num: num, path: path, fs: fsys, f: f, created: time.Now()}, nil
}

// errSegmentClosed is a read from a segment that was closed meanwhile.
var errSegmentClosed = errors.New("spool segment closed")

// read returns n bytes at off.
func (g *segment) read(off int64, n int) ([]byte, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.readLocked(off, n)
}

// readLocked is read with g.mu held for reading.
func (g *segment) readLocked(off int64, n int) ([]byte, error) {
	if g.closed {
		return nil, errSegmentClosed
	}
	b := make([]byte, n)
	if _, err := g.f.ReadAt(b, off); err != nil {
		return nil, fmt.Errorf("spool read: %w", err)
	}
	return b, nil
}

func (g *segment) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.closed {
		g.closed = true
		g.f.Close()
	}
}

// remove deletes the segment's file once no reader holds it.
func (g *segment) remove() error {
	g.close()
	return g.fs.Remove(g.path)
}
