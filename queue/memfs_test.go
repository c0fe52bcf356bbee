package queue

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// memFS is an in-memory fileSystem for tests. It keeps, for every file,
// what a process sees (the page cache) apart from what a power loss would
// leave (the data as of its last Datasync, the directory entries as of the
// last SyncDir), records every operation, and can fail any call.
type memFS struct {
	mu       sync.Mutex
	dirs     map[string]*memDir
	inodes   map[int]*memInode
	nextIno  int
	capacity int64 // bytes; 0 means unlimited

	calls int        // file-system calls so far
	fault faultFunc  // nil: no failures
	rec   bool       // record operations into log
	log   []fsOp     // the recorded operations and test markers
	hook  func(fsOp) // called after each recorded operation, under mu
}

// faultFunc decides whether call number n (from 1), an operation on path,
// fails. short says how many bytes of a failing write still reach the
// file (a short write); it is ignored for other operations.
type faultFunc func(n int, op, path string) (err error, short int)

type memDir struct {
	names   map[string]int // current entries: name → inode
	durable map[string]int // entries as of the last SyncDir
	pending []dirOp        // entry changes since the last SyncDir
}

type dirOp struct {
	name string
	ino  int // -1: removed
}

type memInode struct {
	data    []byte    // what reads return
	durable []byte    // as of the last Datasync
	pending []dataOp  // writes and truncations since the last Datasync
	mtime   time.Time // last change
}

type dataOp struct {
	off      int64
	data     []byte // nil with truncate
	truncate bool
}

// fsOp is one recorded operation, or a marker the test adds (kind "mark").
type fsOp struct {
	kind string // create, write, truncate, sync, rename, remove, syncdir, mark
	path string
	to   string // rename target
	ino  int
	off  int64
	data []byte
	mark string
}

func newMemFS() *memFS {
	m := &memFS{dirs: map[string]*memDir{}, inodes: map[int]*memInode{}, nextIno: 1}
	return m
}

// enter counts a call and asks the fault function about it.
func (m *memFS) enterLocked(op, path string) (error, int) {
	m.calls++
	if m.fault == nil {
		return nil, 0
	}
	err, short := m.fault(m.calls, op, path)
	if err != nil {
		return &os.PathError{Op: op, Path: path, Err: err}, short
	}
	return nil, 0
}

func (m *memFS) record(op fsOp) {
	if !m.rec {
		return
	}
	m.log = append(m.log, op)
	if m.hook != nil {
		m.hook(op)
	}
}

// mark adds a test marker to the operation log.
func (m *memFS) mark(format string, args ...any) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.record(fsOp{kind: "mark", mark: fmt.Sprintf(format, args...)})
}

func (m *memFS) setFault(f faultFunc) {
	m.mu.Lock()
	m.fault = f
	m.mu.Unlock()
}

func (m *memFS) dirOf(path string) (*memDir, string, error) {
	d, ok := m.dirs[filepath.Dir(path)]
	if !ok {
		return nil, "", &os.PathError{Op: "open", Path: path, Err: syscall.ENOENT}
	}
	return d, filepath.Base(path), nil
}

// usedLocked is the bytes held by files that have a name.
func (m *memFS) usedLocked() int64 {
	seen := map[int]bool{}
	var n int64
	for _, d := range m.dirs {
		for _, ino := range d.names {
			if !seen[ino] {
				seen[ino] = true
				n += int64(len(m.inodes[ino].data))
			}
		}
	}
	return n
}

func (d *memDir) set(name string, ino int) {
	if ino < 0 {
		delete(d.names, name)
	} else {
		d.names[name] = ino
	}
	d.pending = append(d.pending, dirOp{name, ino})
}

func (m *memFS) OpenFile(name string, flag int, perm os.FileMode) (spoolFile, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err, _ := m.enterLocked("open", name); err != nil {
		return nil, err
	}
	d, base, err := m.dirOf(name)
	if err != nil {
		return nil, err
	}
	ino, ok := d.names[base]
	switch {
	case ok && flag&os.O_CREATE != 0 && flag&os.O_EXCL != 0:
		return nil, &os.PathError{Op: "open", Path: name, Err: syscall.EEXIST}
	case !ok && flag&os.O_CREATE == 0:
		return nil, &os.PathError{Op: "open", Path: name, Err: syscall.ENOENT}
	case !ok:
		ino = m.nextIno
		m.nextIno++
		m.inodes[ino] = &memInode{mtime: time.Now()}
		d.set(base, ino)
		m.record(fsOp{kind: "create", path: name, ino: ino})
	}
	if flag&os.O_TRUNC != 0 {
		m.truncateLocked(ino, 0, name)
	}
	return &memFile{fs: m, ino: ino, name: name, ro: flag&(os.O_RDWR|os.O_WRONLY) == 0}, nil
}

func (m *memFS) truncateLocked(ino int, size int64, name string) {
	in := m.inodes[ino]
	if int64(len(in.data)) > size {
		in.data = in.data[:size]
	} else {
		in.data = append(in.data, make([]byte, size-int64(len(in.data)))...)
	}
	in.pending = append(in.pending, dataOp{off: size, truncate: true})
	in.mtime = time.Now()
	m.record(fsOp{kind: "truncate", path: name, ino: ino, off: size})
}

func (m *memFS) ReadDir(dir string) ([]fs.DirEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err, _ := m.enterLocked("readdir", dir); err != nil {
		return nil, err
	}
	d, ok := m.dirs[filepath.Clean(dir)]
	if !ok {
		return nil, &os.PathError{Op: "readdir", Path: dir, Err: syscall.ENOENT}
	}
	var out []fs.DirEntry
	for name := range d.names {
		out = append(out, memEntry(name))
	}
	for p := range m.dirs {
		if filepath.Dir(p) == filepath.Clean(dir) && p != filepath.Clean(dir) {
			out = append(out, memEntry(filepath.Base(p)+"/"))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out, nil
}

func (m *memFS) Rename(oldpath, newpath string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err, _ := m.enterLocked("rename", oldpath); err != nil {
		return err
	}
	od, ob, err := m.dirOf(oldpath)
	if err != nil {
		return err
	}
	nd, nb, err := m.dirOf(newpath)
	if err != nil {
		return err
	}
	ino, ok := od.names[ob]
	if !ok {
		return &os.PathError{Op: "rename", Path: oldpath, Err: syscall.ENOENT}
	}
	od.set(ob, -1)
	nd.set(nb, ino)
	m.record(fsOp{kind: "rename", path: oldpath, to: newpath, ino: ino})
	return nil
}

func (m *memFS) Remove(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err, _ := m.enterLocked("remove", name); err != nil {
		return err
	}
	d, base, err := m.dirOf(name)
	if err != nil {
		return err
	}
	ino, ok := d.names[base]
	if !ok {
		return &os.PathError{Op: "remove", Path: name, Err: syscall.ENOENT}
	}
	d.set(base, -1)
	m.record(fsOp{kind: "remove", path: name, ino: ino})
	return nil
}

// MkdirAll makes directories; they are durable at once (the spool's
// directories exist before it opens).
func (m *memFS) MkdirAll(dir string, perm os.FileMode) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err, _ := m.enterLocked("mkdir", dir); err != nil {
		return err
	}
	m.mkdirLocked(dir)
	m.record(fsOp{kind: "mkdir", path: filepath.Clean(dir)})
	return nil
}

func (m *memFS) mkdirLocked(dir string) {
	for p := filepath.Clean(dir); ; p = filepath.Dir(p) {
		if _, ok := m.dirs[p]; !ok {
			m.dirs[p] = &memDir{names: map[string]int{}, durable: map[string]int{}}
		}
		if p == filepath.Dir(p) {
			return
		}
	}
}

func (m *memFS) SyncDir(dir string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err, _ := m.enterLocked("syncdir", dir); err != nil {
		return err
	}
	d, ok := m.dirs[filepath.Clean(dir)]
	if !ok {
		return &os.PathError{Op: "syncdir", Path: dir, Err: syscall.ENOENT}
	}
	d.durable = maps(d.names)
	d.pending = nil
	m.record(fsOp{kind: "syncdir", path: filepath.Clean(dir)})
	return nil
}

func (m *memFS) Free(dir string) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err, _ := m.enterLocked("statfs", dir); err != nil {
		return 0, err
	}
	if m.capacity == 0 {
		return 1 << 40, nil
	}
	return max(m.capacity-m.usedLocked(), 0), nil
}

func maps(in map[string]int) map[string]int {
	out := make(map[string]int, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}

type memEntry string

func (e memEntry) Name() string               { return strings.TrimSuffix(string(e), "/") }
func (e memEntry) IsDir() bool                { return strings.HasSuffix(string(e), "/") }
func (e memEntry) Type() fs.FileMode          { return 0 }
func (e memEntry) Info() (fs.FileInfo, error) { return nil, errors.ErrUnsupported }

// memFile is an open file of a memFS.
type memFile struct {
	fs     *memFS
	ino    int
	name   string
	ro     bool
	closed bool
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	m := f.fs
	m.mu.Lock()
	defer m.mu.Unlock()
	if err, _ := m.enterLocked("read", f.name); err != nil {
		return 0, err
	}
	data := m.inodes[f.ino].data
	if off >= int64(len(data)) {
		return 0, io.EOF
	}
	n := copy(p, data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) WriteAt(p []byte, off int64) (int, error) {
	m := f.fs
	m.mu.Lock()
	defer m.mu.Unlock()
	if f.ro {
		return 0, &os.PathError{Op: "write", Path: f.name, Err: syscall.EBADF}
	}
	err, short := m.enterLocked("write", f.name)
	if err == nil && m.capacity > 0 {
		in := m.inodes[f.ino]
		grow := max(off+int64(len(p))-int64(len(in.data)), 0)
		if room := m.capacity - m.usedLocked(); grow > room {
			err = &os.PathError{Op: "write", Path: f.name, Err: syscall.ENOSPC}
			short = int(max(int64(len(p))-(grow-room), 0))
		}
	}
	if err != nil {
		if short >= 1<<30 {
			short = len(p) / 2
		}
		short = min(max(short, 0), len(p))
		if short > 0 {
			m.writeLocked(f, p[:short], off)
		}
		return short, err
	}
	m.writeLocked(f, p, off)
	return len(p), nil
}

func (m *memFS) writeLocked(f *memFile, p []byte, off int64) {
	in := m.inodes[f.ino]
	if end := off + int64(len(p)); end > int64(len(in.data)) {
		in.data = append(in.data, make([]byte, end-int64(len(in.data)))...)
	}
	copy(in.data[off:], p)
	c := slices.Clone(p)
	in.pending = append(in.pending, dataOp{off: off, data: c})
	in.mtime = time.Now()
	m.record(fsOp{kind: "write", path: f.name, ino: f.ino, off: off, data: c})
}

func (f *memFile) Datasync() error {
	m := f.fs
	m.mu.Lock()
	defer m.mu.Unlock()
	if err, _ := m.enterLocked("sync", f.name); err != nil {
		return err
	}
	in := m.inodes[f.ino]
	in.durable = slices.Clone(in.data)
	in.pending = nil
	m.record(fsOp{kind: "sync", path: f.name, ino: f.ino})
	return nil
}

func (f *memFile) Truncate(size int64) error {
	m := f.fs
	m.mu.Lock()
	defer m.mu.Unlock()
	if err, _ := m.enterLocked("truncate", f.name); err != nil {
		return err
	}
	m.truncateLocked(f.ino, size, f.name)
	return nil
}

func (f *memFile) Stat() (fs.FileInfo, error) {
	m := f.fs
	m.mu.Lock()
	defer m.mu.Unlock()
	if err, _ := m.enterLocked("stat", f.name); err != nil {
		return nil, err
	}
	in := m.inodes[f.ino]
	return memInfo{name: filepath.Base(f.name), size: int64(len(in.data)), mtime: in.mtime}, nil
}

func (f *memFile) Close() error {
	m := f.fs
	m.mu.Lock()
	defer m.mu.Unlock()
	f.closed = true
	if err, _ := m.enterLocked("close", f.name); err != nil {
		return err
	}
	return nil
}

type memInfo struct {
	name  string
	size  int64
	mtime time.Time
}

func (i memInfo) Name() string       { return i.name }
func (i memInfo) Size() int64        { return i.size }
func (i memInfo) Mode() fs.FileMode  { return 0o600 }
func (i memInfo) ModTime() time.Time { return i.mtime }
func (i memInfo) IsDir() bool        { return false }
func (i memInfo) Sys() any           { return nil }

// files returns the current content of every file under dir (one level),
// by name.
func (m *memFS) files(dir string) map[string][]byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string][]byte{}
	if d, ok := m.dirs[filepath.Clean(dir)]; ok {
		for name, ino := range d.names {
			out[name] = slices.Clone(m.inodes[ino].data)
		}
	}
	return out
}

// segmentFiles counts the segment files in dir.
func (m *memFS) segmentFiles(dir string) int {
	n := 0
	for name := range m.files(dir) {
		if _, ok := parseSegName(name); ok {
			n++
		}
	}
	return n
}

// putFile creates a file with durable content (for tests that build a
// spool by hand).
func (m *memFS) putFile(path string, data []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mkdirLocked(filepath.Dir(path))
	d := m.dirs[filepath.Dir(path)]
	ino := m.nextIno
	m.nextIno++
	m.inodes[ino] = &memInode{data: slices.Clone(data), durable: slices.Clone(data), mtime: time.Now()}
	d.names[filepath.Base(path)] = ino
	d.durable[filepath.Base(path)] = ino
}

// errno returns a faultFunc that fails every call to one of ops with err
// while on() is true.
func failWhile(on func() bool, err error, ops ...string) faultFunc {
	return func(_ int, op, _ string) (error, int) {
		if slices.Contains(ops, op) && on() {
			return err, 0
		}
		return nil, 0
	}
}

// processImage is what a kill -9 leaves: everything written, synced or
// not, as a new memFS.
func (m *memFS) processImage() *memFS {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := newMemFS()
	for p, d := range m.dirs {
		out.mkdirLocked(p)
		od := out.dirs[p]
		for name, ino := range d.names {
			out.inodes[ino] = &memInode{data: slices.Clone(m.inodes[ino].data), durable: slices.Clone(m.inodes[ino].data), mtime: m.inodes[ino].mtime}
			od.names[name], od.durable[name] = ino, ino
		}
	}
	out.nextIno = m.nextIno
	return out
}

// apply replays one recorded operation (markers are skipped).
func (m *memFS) apply(op fsOp) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch op.kind {
	case "mkdir":
		m.mkdirLocked(op.path)
	case "create":
		m.inodes[op.ino] = &memInode{mtime: time.Now()}
		m.dirs[filepath.Dir(op.path)].set(filepath.Base(op.path), op.ino)
		m.nextIno = max(m.nextIno, op.ino+1)
	case "write":
		m.writeLocked(&memFile{fs: m, ino: op.ino, name: op.path}, op.data, op.off)
	case "truncate":
		m.truncateLocked(op.ino, op.off, op.path)
	case "sync":
		in := m.inodes[op.ino]
		in.durable, in.pending = slices.Clone(in.data), nil
	case "rename":
		m.dirs[filepath.Dir(op.path)].set(filepath.Base(op.path), -1)
		m.dirs[filepath.Dir(op.to)].set(filepath.Base(op.to), op.ino)
	case "remove":
		m.dirs[filepath.Dir(op.path)].set(filepath.Base(op.path), -1)
	case "syncdir":
		d := m.dirs[op.path]
		d.durable, d.pending = maps(d.names), nil
	}
}

// imageKind is what is left of the file system after a crash.
type imageKind int

const (
	// afterKill: the process died (kill -9); the kernel keeps every write.
	afterKill imageKind = iota
	// afterPowerLoss: only what was synced survives.
	afterPowerLoss
	// afterTornPowerLoss: what was synced, plus, per file and per
	// directory, a random prefix of what was not, the last write cut at a
	// random byte or left as zeros (the size reached the disk, the data
	// did not).
	afterTornPowerLoss
)

func (k imageKind) String() string {
	return [...]string{"kill -9", "power loss", "torn power loss"}[k]
}

// image builds the file system a crash of kind k would leave now. rnd
// returns a random int in [0, n).
func (m *memFS) image(k imageKind, rnd func(n int) int) *memFS {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := newMemFS()
	for p, d := range m.dirs {
		out.mkdirLocked(p)
		od := out.dirs[p]
		for name, ino := range m.entriesAfter(d, k, rnd) {
			data := m.contentAfter(m.inodes[ino], k, rnd)
			out.inodes[ino] = &memInode{data: data, durable: slices.Clone(data), mtime: m.inodes[ino].mtime}
			od.names[name], od.durable[name] = ino, ino
		}
	}
	out.nextIno = m.nextIno
	return out
}

func (m *memFS) entriesAfter(d *memDir, k imageKind, rnd func(int) int) map[string]int {
	switch k {
	case afterKill:
		return d.names
	case afterPowerLoss:
		return d.durable
	}
	names := maps(d.durable)
	for _, op := range d.pending[:rnd(len(d.pending)+1)] {
		if op.ino < 0 {
			delete(names, op.name)
		} else {
			names[op.name] = op.ino
		}
	}
	return names
}

func (m *memFS) contentAfter(in *memInode, k imageKind, rnd func(int) int) []byte {
	switch k {
	case afterKill:
		return slices.Clone(in.data)
	case afterPowerLoss:
		return slices.Clone(in.durable)
	}
	data := slices.Clone(in.durable)
	n := rnd(len(in.pending) + 1)
	for i, op := range in.pending[:min(n+1, len(in.pending))] {
		switch {
		case op.truncate && i == n && rnd(2) == 0:
		case op.truncate:
			if int64(len(data)) > op.off {
				data = data[:op.off]
			} else {
				data = append(data, make([]byte, op.off-int64(len(data)))...)
			}
		default:
			p := op.data
			if i == n { // the torn one
				if rnd(2) == 0 {
					p = p[:rnd(len(p)+1)]
				} else {
					p = make([]byte, len(p))
				}
			}
			if end := op.off + int64(len(p)); end > int64(len(data)) {
				data = append(data, make([]byte, end-int64(len(data)))...)
			}
			copy(data[op.off:], p)
		}
	}
	return data
}
