// Package keyfile loads a secret key from a file, or creates the file with a
// fresh random key on first use. The spool key (queue.key_file) and the
// portal master key (portal.master_key_file) are such files.
//
// A new key is written through safeio: a temporary file in the same
// directory is written, fsynced and hard-linked into place, and the
// directory is fsynced. Every directory created on the way is made 0700 and
// fsynced into its parent. A power loss right after first start therefore
// leaves either no key file or the whole key, never an empty file, and a key
// that has encrypted anything is on disk. Because the file is linked into place
// rather than renamed over the target, two processes or goroutines creating
// the same key at once end up with one key: the loser reads the winner's.
//
// An existing key file is used only if it is a regular file (not a symbolic
// link), gives no access to group or others, and has exactly the expected
// size. A file that fails a check is reported, never replaced: a new key
// cannot decrypt anything encrypted under the old one.
package keyfile

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/sealgate/sealgate/safeio"
)

const (
	filePerm = 0o600
	dirPerm  = 0o700
	// openMask is the permission bits a key file must not have.
	openMask = 0o077
)

// LoadOrCreate returns the size-byte key held in the file at path. If the
// file does not exist it creates it (mode 0600, and any missing parent
// directories with mode 0700) holding a fresh random key, and returns that
// key once it is durable.
func LoadOrCreate(path string, size int) ([]byte, error) {
	return loadOrCreate(safeio.OS(), path, size)
}

// Load returns the size-byte key held in the file at path, with the same
// checks as LoadOrCreate, and never creates the file.
func Load(path string, size int) ([]byte, error) {
	return load(path, size)
}

// loadOrCreate is LoadOrCreate with the file-system seam of safeio.
func loadOrCreate(fsys safeio.FS, path string, size int) ([]byte, error) {
	if size <= 0 {
		return nil, fmt.Errorf("keyfile: %s: invalid key size %d", path, size)
	}
	key, err := load(path, size)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	key, err = create(fsys, path, size)
	if !errors.Is(err, fs.ErrExist) {
		return key, err
	}
	// Someone else created the file between our look and our link: use
	// their key, once its directory entry is as durable as ours would be.
	if err := fsys.SyncDir(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("keyfile: %s: %w", path, err)
	}
	return load(path, size)
}

// load reads an existing key file, refusing one that is not a regular file,
// is open to group or others, or has the wrong size. An absent file gives
// an error matching fs.ErrNotExist.
func load(path string, size int) ([]byte, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, fmt.Errorf("keyfile: %w", err)
	}
	if err := check(path, fi, size); err != nil {
		return nil, err
	}
	// O_NOFOLLOW: the name may have been swapped for a link since Lstat.
	// O_NONBLOCK: opening a FIFO put in its place must not hang.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("keyfile: %w", err)
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		return nil, fmt.Errorf("keyfile: %w", err)
	}
	if err := check(path, fi, size); err != nil {
		return nil, err
	}
	key := make([]byte, size)
	if _, err := io.ReadFull(f, key); err != nil {
		return nil, fmt.Errorf("keyfile: read %s: %w", path, err)
	}
	return key, nil
}

// check reports why the file described by fi cannot be used as a key file
// of size bytes, or nil.
func check(path string, fi fs.FileInfo, size int) error {
	mode := fi.Mode()
	switch {
	case mode&fs.ModeSymlink != 0:
		return fmt.Errorf("keyfile: %s is a symbolic link; a key file must be a regular file: configure the path of the file itself", path)
	case !mode.IsRegular():
		return fmt.Errorf("keyfile: %s is not a regular file (mode %v)", path, mode)
	case mode.Perm()&openMask != 0:
		return fmt.Errorf("keyfile: %s has mode %#o, which lets group or others read the key; run chmod 600 %s (and consider the key exposed)",
			path, uint32(mode.Perm()), path)
	case fi.Size() != int64(size):
		return fmt.Errorf("keyfile: %s holds %d bytes, want %d: it is damaged or not this key; restore it from a backup (a new key cannot decrypt what the old one encrypted)",
			path, fi.Size(), size)
	}
	return nil
}

// create makes the key file with a fresh random key. If the file appeared
// meanwhile it returns an error matching fs.ErrExist and changes nothing.
func create(fsys safeio.FS, path string, size int) ([]byte, error) {
	if err := makeDirs(fsys, filepath.Dir(path)); err != nil {
		return nil, err
	}
	key := make([]byte, size)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("keyfile: %s: %w", path, err)
	}
	w := safeio.Writer{FS: fsys, Perm: filePerm, SyncDir: true, NoReplace: true}
	if err := w.WriteFile(path, key); err != nil {
		return nil, fmt.Errorf("keyfile: create %s: %w", path, err)
	}
	return key, nil
}

// makeDirs creates dir and its missing parents with mode 0700, fsyncing the
// parent of each directory it creates so the new entry survives a crash.
func makeDirs(fsys safeio.FS, dir string) error {
	if err := safeio.MkdirAll(fsys, dir, dirPerm); err != nil {
		return fmt.Errorf("keyfile: %w", err)
	}
	return nil
}
