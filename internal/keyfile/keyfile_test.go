package keyfile

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/sealgate/sealgate/safeio"
)

var errInjected = errors.New("injected failure")

// seamFS is the real file system with the directory syncs recorded, and
// optionally failing, and a hook run just before the link into place.
type seamFS struct {
	safeio.FS
	failSync   string // the directory whose sync fails
	beforeLink func(newpath string)

	mu    sync.Mutex
	syncs []string
}

func newSeam() *seamFS { return &seamFS{FS: safeio.OS()} }

func (s *seamFS) SyncDir(dir string) error {
	s.mu.Lock()
	s.syncs = append(s.syncs, dir)
	s.mu.Unlock()
	if dir == s.failSync {
		return errInjected
	}
	return s.FS.SyncDir(dir)
}

func (s *seamFS) Link(oldpath, newpath string) error {
	if s.beforeLink != nil {
		s.beforeLink(newpath)
	}
	return s.FS.Link(oldpath, newpath)
}

func writeKey(t *testing.T, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // the umask applied above
		t.Fatal(err)
	}
}

func perm(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// A missing key is created 0600 in directories made 0700, and every
// directory that gained an entry is fsynced: the parent of each directory
// created, then the key's own directory.
func TestCreatesKey0600AndSyncsDirectories(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	path := filepath.Join(root, "data", "keys", "spool.key")
	fs := newSeam()
	key, err := loadOrCreate(fs, path, 32)
	if err != nil {
		t.Fatal(err)
	}
	if len(key) != 32 || bytes.Equal(key, make([]byte, 32)) {
		t.Fatalf("key = %x, want 32 random bytes", key)
	}
	if m := perm(t, path); m != 0o600 {
		t.Errorf("key file mode %#o, want 0600", m)
	}
	for _, d := range []string{filepath.Join(root, "data"), filepath.Dir(path)} {
		if m := perm(t, d); m != 0o700 {
			t.Errorf("directory %s mode %#o, want 0700", d, m)
		}
	}
	want := []string{root, filepath.Join(root, "data"), filepath.Join(root, "data", "keys")}
	if !slices.Equal(fs.syncs, want) {
		t.Errorf("directory syncs = %q, want %q", fs.syncs, want)
	}
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 1 {
		t.Errorf("key directory holds %d entries, want only the key (no temporary file)", len(ents))
	}
	again, err := loadOrCreate(newSeam(), path, 32)
	if err != nil || !bytes.Equal(again, key) {
		t.Fatalf("reload = %x, %v; want the created key", again, err)
	}
}

// A key file is not reported created until each directory sync succeeded.
func TestDirectorySyncFailureIsAnError(t *testing.T) {
	t.Parallel()
	for _, which := range []string{"key directory", "parent of created directory"} {
		t.Run(which, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			path := filepath.Join(root, "keys", "portal.key")
			fs := newSeam()
			fs.failSync = filepath.Dir(path)
			if which != "key directory" {
				fs.failSync = root
			}
			key, err := loadOrCreate(fs, path, 32)
			if !errors.Is(err, errInjected) || key != nil {
				t.Fatalf("loadOrCreate = %x, %v; want no key and the injected failure", key, err)
			}
			if !strings.Contains(err.Error(), path) && !strings.Contains(err.Error(), filepath.Dir(path)) {
				t.Errorf("error %q names neither the key nor its directory", err)
			}
		})
	}
}

// TestRefusesModeOpenToOthers pins that a key readable by group or others is
// never used, and the error says which file, which mode and what to run.
func TestRefusesModeOpenToOthers(t *testing.T) {
	t.Parallel()
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644, 0o660, 0o666, 0o610, 0o601, 0o620} {
		t.Run(fmt.Sprintf("%#o", mode), func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "spool.key")
			old := bytes.Repeat([]byte{7}, 32)
			writeKey(t, path, old, mode)
			_, err := LoadOrCreate(path, 32)
			if err == nil {
				t.Fatal("key open to group or others accepted")
			}
			for _, want := range []string{path, fmt.Sprintf("%#o", mode), "chmod 600"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if got, _ := os.ReadFile(path); !bytes.Equal(got, old) || perm(t, path) != mode {
				t.Error("refused key file was changed")
			}
		})
	}
}

func TestAcceptsOwnerOnlyModes(t *testing.T) {
	t.Parallel()
	for _, mode := range []os.FileMode{0o600, 0o400, 0o700} {
		path := filepath.Join(t.TempDir(), "spool.key")
		want := bytes.Repeat([]byte{9}, 32)
		writeKey(t, path, want, mode)
		got, err := LoadOrCreate(path, 32)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("mode %#o: %x, %v; want the stored key", mode, got, err)
		}
	}
}

func TestRefusesWrongSize(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 31, 33, 64} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "spool.key")
			old := bytes.Repeat([]byte{1}, n)
			writeKey(t, path, old, 0o600)
			_, err := LoadOrCreate(path, 32)
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), fmt.Sprintf("holds %d bytes, want 32", n)) {
				t.Fatalf("error = %v, want one naming the file and both sizes", err)
			}
			if got, _ := os.ReadFile(path); !bytes.Equal(got, old) {
				t.Error("key file of the wrong size was replaced")
			}
		})
	}
}

func TestRefusesSymlink(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	target := filepath.Join(dir, "real.key")
	writeKey(t, target, bytes.Repeat([]byte{3}, 32), 0o600)
	for name, to := range map[string]string{"to a key": target, "dangling": filepath.Join(dir, "absent.key")} {
		link := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".key")
		if err := os.Symlink(to, link); err != nil {
			t.Fatal(err)
		}
		_, err := LoadOrCreate(link, 32)
		if err == nil || !strings.Contains(err.Error(), "symbolic link") || !strings.Contains(err.Error(), link) {
			t.Errorf("%s: error = %v, want a refused symbolic link", name, err)
		}
		if _, err := os.Lstat(to); name == "dangling" && !errors.Is(err, os.ErrNotExist) {
			t.Error("a key was created through a dangling link")
		}
	}
}

func TestRefusesNonRegularFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sub := filepath.Join(dir, "dir.key")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo.key")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{sub, fifo} {
		_, err := LoadOrCreate(path, 32)
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("%s: error = %v, want a refused non-regular file", path, err)
		}
	}
}

// Two goroutines (or processes) starting at once on a fresh data folder
// must agree on one key; a second key would strand whatever the first
// encrypted.
func TestConcurrentFirstUseYieldsOneKey(t *testing.T) {
	t.Parallel()
	for range 50 {
		path := filepath.Join(t.TempDir(), "data", "keys", "spool.key")
		var (
			start = make(chan struct{})
			keys  [2][]byte
			errs  [2]error
			wg    sync.WaitGroup
		)
		for i := range keys {
			wg.Go(func() {
				<-start
				keys[i], errs[i] = LoadOrCreate(path, 32)
			})
		}
		close(start)
		wg.Wait()
		onDisk, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for i := range keys {
			if errs[i] != nil || !bytes.Equal(keys[i], onDisk) {
				t.Fatalf("goroutine %d: key %x, %v; on disk %x", i, keys[i], errs[i], onDisk)
			}
		}
	}
}

// The losing side of a creation race is forced here: another creator links
// its key just before ours. We must return theirs, leave it in place, and
// sync the directory before trusting it.
func TestLostCreationRaceUsesWinnersKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "portal.key")
	winner := bytes.Repeat([]byte{0xaa}, 32)
	fs := newSeam()
	fs.beforeLink = func(newpath string) { writeKey(t, newpath, winner, 0o600) }
	got, err := loadOrCreate(fs, path, 32)
	if err != nil || !bytes.Equal(got, winner) {
		t.Fatalf("loadOrCreate = %x, %v; want the winner's key", got, err)
	}
	if onDisk, _ := os.ReadFile(path); !bytes.Equal(onDisk, winner) {
		t.Error("the winner's key file was replaced")
	}
	if !slices.Contains(fs.syncs, dir) {
		t.Errorf("directory syncs = %q, want %q", fs.syncs, dir)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("directory holds %d entries, want only the key", len(ents))
	}
}

func TestInvalidSize(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "k")
	if _, err := LoadOrCreate(path, 0); err == nil {
		t.Fatal("size 0 accepted")
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Error("a key file was created for an invalid size")
	}
}

func TestParentIsNotADirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeKey(t, filepath.Join(dir, "keys"), []byte("x"), 0o600)
	if _, err := LoadOrCreate(filepath.Join(dir, "keys", "spool.key"), 32); err == nil {
		t.Fatal("key created under a regular file")
	}
}
