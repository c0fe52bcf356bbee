package safeio

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// MkdirAll creates dir and any missing parents with mode perm (set exactly,
// whatever the umask), and fsyncs the parent of every directory it creates,
// so that after a power loss a directory that was used is still found where
// it was made. A directory made meanwhile by someone else has its parent
// fsynced all the same. A nil fsys is the real file system (OS).
func MkdirAll(fsys FS, dir string, perm os.FileMode) error {
	if fsys == nil {
		fsys = OS()
	}
	fi, err := os.Stat(dir)
	if err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("safeio: %s is not a directory", dir)
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("safeio: %w", err)
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := MkdirAll(fsys, parent, perm); err != nil {
			return err
		}
	}
	switch err := os.Mkdir(dir, perm); {
	case err == nil:
		// Mkdir's mode is filtered by the umask; set it exactly.
		if err := os.Chmod(dir, perm); err != nil {
			return fmt.Errorf("safeio: %w", err)
		}
	case errors.Is(err, fs.ErrExist):
		// Made by a concurrent creator: sync its parent all the same.
	default:
		return fmt.Errorf("safeio: %w", err)
	}
	if err := fsys.SyncDir(parent); err != nil {
		return fmt.Errorf("safeio: %s: %w", dir, err)
	}
	return nil
}
