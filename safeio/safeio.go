// Package safeio writes files atomically and durably.
//
// A write goes to a temporary file in the target's directory, which is
// written, fsynced, closed and renamed over the target; the directory is then
// fsynced so the rename itself survives a crash (chasquid's internal/safeio
// omits that last step). On any failure up to the rename the temporary file is
// removed and the target keeps its previous content, or stays absent; a failed
// directory fsync is reported after the rename (see Writer.WriteFile).
//
// With Writer.NoReplace the temporary file is hard-linked to the target
// instead of renamed over it, so a target that already exists is never
// replaced: of several writers racing to create the same file, exactly one
// wins and the others learn that the file exists.
//
// Every file-system step goes through the FS interface so tests can inject a
// failure at each one.
package safeio

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// File is the part of *os.File that an atomic write uses.
type File interface {
	io.Writer
	Sync() error
	Close() error
	Name() string
	Chmod(os.FileMode) error
}

// FS is the file-system seam used by Writer. OS returns the real one.
type FS interface {
	// CreateTemp creates a new temporary file in dir, as os.CreateTemp.
	CreateTemp(dir, pattern string) (File, error)
	// Rename renames old to new, as os.Rename.
	Rename(oldpath, newpath string) error
	// Link makes newpath a hard link to oldpath, as os.Link; it fails
	// with an error matching fs.ErrExist if newpath exists.
	Link(oldpath, newpath string) error
	// Remove removes a file, as os.Remove.
	Remove(name string) error
	// SyncDir fsyncs a directory so that entries created or renamed in it
	// are durable.
	SyncDir(dir string) error
}

// OS returns the FS backed by the os package.
func OS() FS { return osFS{} }

type osFS struct{}

func (osFS) CreateTemp(dir, pattern string) (File, error) { return os.CreateTemp(dir, pattern) }
func (osFS) Rename(oldpath, newpath string) error         { return os.Rename(oldpath, newpath) }
func (osFS) Link(oldpath, newpath string) error           { return os.Link(oldpath, newpath) }
func (osFS) Remove(name string) error                     { return os.Remove(name) }
func (osFS) SyncDir(dir string) error                     { return SyncDir(dir) }

// SyncDir fsyncs the directory dir, making renames and new entries in it
// durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("safeio: open directory: %w", err)
	}
	serr := d.Sync()
	cerr := d.Close()
	if serr != nil {
		return fmt.Errorf("safeio: sync directory: %w", serr)
	}
	if cerr != nil {
		return fmt.Errorf("safeio: close directory: %w", cerr)
	}
	return nil
}

// Writer writes files atomically. The zero value writes through the os
// package with mode 0600, fsyncs the file and does not fsync the directory.
type Writer struct {
	// FS performs the file-system operations; nil means OS().
	FS FS
	// Perm is the mode of the written file; 0 means 0600.
	Perm os.FileMode
	// SyncDir fsyncs the target's directory after the rename. Callers that
	// write many files to one directory may leave it false and call
	// SyncDir themselves once for the batch.
	SyncDir bool
	// NoSync skips the fsync of the file data. Only for data that may be
	// lost on a crash (never for the spool).
	NoSync bool
	// NoReplace creates path only if it does not exist: the temporary
	// file is hard-linked to path (which fails if path exists) and then
	// removed, instead of renamed over path. If path exists, WriteFile
	// leaves it untouched and returns an error matching fs.ErrExist.
	NoReplace bool
}

// WriteFile atomically replaces path with data: it writes a temporary file
// in the same directory, fsyncs it (unless NoSync), closes it, renames it to
// path (or, with NoReplace, links it to path and removes it) and fsyncs the
// directory (if SyncDir). The mode is set with Chmod, so the process umask
// does not apply.
//
// On a failure before the rename or link the temporary file is removed and
// path is left as it was. A failure of the final directory fsync happens
// after the rename, which cannot be undone: path then holds the new data but
// its durability is unknown, and the caller must treat the write as failed
// (for example, not acknowledge the message). With NoReplace, so does a
// failure to remove the temporary file after the link.
func (w Writer) WriteFile(path string, data []byte) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if w.FS == nil {
		w.FS = OS()
	}
	f, err := w.FS.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("safeio: create temporary file: %w", err)
	}
	tmp := f.Name()
	if err := w.fill(f, data); err != nil {
		return errors.Join(err, w.remove(tmp))
	}
	if err := w.place(tmp, path); err != nil {
		return err
	}
	if w.SyncDir {
		if err := w.FS.SyncDir(filepath.Clean(dir)); err != nil {
			return err
		}
	}
	return nil
}

// fill sets the mode, writes data, fsyncs and closes f. f is closed on every
// path.
func (w Writer) fill(f File, data []byte) error {
	perm := w.Perm
	if perm == 0 {
		perm = 0o600
	}
	err := f.Chmod(perm)
	if err != nil {
		err = fmt.Errorf("safeio: chmod: %w", err)
	}
	if err == nil {
		if _, werr := f.Write(data); werr != nil {
			err = fmt.Errorf("safeio: write: %w", werr)
		}
	}
	if err == nil && !w.NoSync {
		if serr := f.Sync(); serr != nil {
			err = fmt.Errorf("safeio: sync: %w", serr)
		}
	}
	if cerr := f.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("safeio: close: %w", cerr)
	}
	return err
}

// place puts the written temporary file at path: renamed over it, or with
// NoReplace linked to it and then removed.
func (w Writer) place(tmp, path string) error {
	if !w.NoReplace {
		if err := w.FS.Rename(tmp, path); err != nil {
			return errors.Join(fmt.Errorf("safeio: rename: %w", err), w.remove(tmp))
		}
		return nil
	}
	if err := w.FS.Link(tmp, path); err != nil {
		return errors.Join(fmt.Errorf("safeio: link: %w", err), w.remove(tmp))
	}
	return w.remove(tmp)
}

func (w Writer) remove(name string) error {
	if err := w.FS.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("safeio: remove temporary file: %w", err)
	}
	return nil
}

// WriteFile atomically replaces path with data using the real file system,
// fsyncing both the file and its directory.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	return Writer{FS: OS(), Perm: perm, SyncDir: true}.WriteFile(path, data)
}
