package queue

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/sealgate/sealgate/safeio"
)

// fileSystem is every file operation the spool makes. osFS is the real
// one; the crash-consistency and failure-injection tests substitute their
// own, which record every write, sync and rename and can fail any call.
type fileSystem interface {
	// OpenFile opens or creates a file, as os.OpenFile.
	OpenFile(name string, flag int, perm os.FileMode) (spoolFile, error)
	// ReadDir lists the names in a directory.
	ReadDir(dir string) ([]fs.DirEntry, error)
	// Rename renames a file, as os.Rename.
	Rename(oldpath, newpath string) error
	// Remove removes a file, as os.Remove.
	Remove(name string) error
	// MkdirAll creates a directory and its parents, as os.MkdirAll.
	MkdirAll(dir string, perm os.FileMode) error
	// SyncDir makes the entries created, renamed or removed in dir
	// durable.
	SyncDir(dir string) error
	// Free is the number of bytes an unprivileged writer may still use on
	// the file system holding dir (statfs f_bavail × f_bsize).
	Free(dir string) (int64, error)
}

// spoolFile is an open file of the spool.
type spoolFile interface {
	io.ReaderAt
	io.WriterAt
	// Datasync flushes the file's data, and the metadata needed to read
	// it back, to stable storage (fdatasync).
	Datasync() error
	Truncate(size int64) error
	Stat() (fs.FileInfo, error)
	Close() error
}

// osFS is the file system of the os package.
type osFS struct{}

func (osFS) OpenFile(name string, flag int, perm os.FileMode) (spoolFile, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

func (osFS) ReadDir(dir string) ([]fs.DirEntry, error) { return os.ReadDir(dir) }
func (osFS) Rename(oldpath, newpath string) error      { return os.Rename(oldpath, newpath) }
func (osFS) Remove(name string) error                  { return os.Remove(name) }
func (osFS) MkdirAll(dir string, perm os.FileMode) error {
	return os.MkdirAll(dir, perm)
}
func (osFS) SyncDir(dir string) error { return safeio.SyncDir(dir) }

func (osFS) Free(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, &os.PathError{Op: "statfs", Path: dir, Err: err}
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

type osFile struct{ *os.File }

func (f osFile) Datasync() error {
	if err := unix.Fdatasync(int(f.Fd())); err != nil {
		return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: err}
	}
	return nil
}

// readFile reads a whole file through fsys.
func readFile(fsys fileSystem, name string) ([]byte, error) {
	f, err := fsys.OpenFile(name, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	b := make([]byte, st.Size())
	n, err := f.ReadAt(b, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return b[:n], nil
}

// writeFileAtomic writes data to a temporary file next to path, syncs it,
// renames it to path and syncs the directory. On failure the temporary
// file is removed and path is left as it was.
func writeFileAtomic(fsys fileSystem, path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	tmp := filepath.Join(dir, "."+filepath.Base(path)+".tmp")
	f, err := fsys.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			fsys.Remove(tmp)
		}
	}()
	_, err = f.WriteAt(data, 0)
	if err == nil {
		err = f.Datasync()
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := fsys.Rename(tmp, path); err != nil {
		return err
	}
	return fsys.SyncDir(dir)
}
