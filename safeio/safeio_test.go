package safeio

import (
	"bytes"
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var errInjected = errors.New("injected failure")

// faultFS wraps the real file system and fails at the named step.
type faultFS struct {
	fail     string
	renamed  bool
	linked   bool
	dirSyncs []string
}

type faultFile struct {
	*os.File
	fail string
}

func (f faultFile) Write(p []byte) (int, error) {
	if f.fail == "write" {
		// A short write, as a full disk would give.
		n, _ := f.File.Write(p[:len(p)/2])
		return n, errInjected
	}
	return f.File.Write(p)
}

func (f faultFile) Sync() error {
	if f.fail == "sync" {
		return errInjected
	}
	return f.File.Sync()
}

func (f faultFile) Close() error {
	err := f.File.Close()
	if f.fail == "close" {
		return errInjected
	}
	return err
}

func (f faultFile) Chmod(m os.FileMode) error {
	if f.fail == "chmod" {
		return errInjected
	}
	return f.File.Chmod(m)
}

func (fs *faultFS) CreateTemp(dir, pattern string) (File, error) {
	if fs.fail == "create" {
		return nil, errInjected
	}
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	return faultFile{File: f, fail: fs.fail}, nil
}

func (fs *faultFS) Rename(oldpath, newpath string) error {
	if fs.fail == "rename" {
		return errInjected
	}
	fs.renamed = true
	return os.Rename(oldpath, newpath)
}

func (fs *faultFS) Link(oldpath, newpath string) error {
	if fs.fail == "link" {
		return errInjected
	}
	if err := os.Link(oldpath, newpath); err != nil {
		return err
	}
	fs.linked = true
	return nil
}

func (fs *faultFS) Remove(name string) error {
	if fs.fail == "remove" {
		return errInjected
	}
	return os.Remove(name)
}

func (fs *faultFS) SyncDir(dir string) error {
	fs.dirSyncs = append(fs.dirSyncs, dir)
	if fs.fail == "syncdir" {
		return errInjected
	}
	return SyncDir(dir)
}

func onlyEntry(t *testing.T, dir, want string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if want == "" && len(names) != 0 || want != "" && (len(names) != 1 || names[0] != want) {
		t.Fatalf("directory holds %q, want only %q", names, want)
	}
}

func TestWriteFileFailureKeepsTarget(t *testing.T) {
	t.Parallel()
	for _, step := range []string{"create", "chmod", "write", "sync", "close", "rename"} {
		for _, existing := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/existing=%v", step, existing), func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				path := filepath.Join(dir, "target")
				old := []byte("old content\n")
				if existing {
					if err := os.WriteFile(path, old, 0o600); err != nil {
						t.Fatal(err)
					}
				}
				fs := &faultFS{fail: step}
				w := Writer{FS: fs, Perm: 0o640, SyncDir: true}
				err := w.WriteFile(path, []byte("new content, longer than the old\n"))
				if !errors.Is(err, errInjected) {
					t.Fatalf("WriteFile error = %v, want the injected failure", err)
				}
				if len(fs.dirSyncs) != 0 {
					t.Errorf("directory synced after a failure: %v", fs.dirSyncs)
				}
				got, rerr := os.ReadFile(path)
				switch {
				case existing && !bytes.Equal(got, old):
					t.Errorf("target = %q (err %v), want old content", got, rerr)
				case !existing && !errors.Is(rerr, os.ErrNotExist):
					t.Errorf("target exists after a failed first write: %q", got)
				}
				if existing {
					onlyEntry(t, dir, "target")
				} else {
					onlyEntry(t, dir, "")
				}
			})
		}
	}
}

func TestWriteFileDirSyncFailure(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "target")
	fs := &faultFS{fail: "syncdir"}
	err := Writer{FS: fs, SyncDir: true}.WriteFile(path, []byte("new"))
	if !errors.Is(err, errInjected) {
		t.Fatalf("WriteFile error = %v, want the injected failure", err)
	}
	// The rename already happened; the caller learns durability is unknown.
	if !fs.renamed {
		t.Error("directory synced before the rename")
	}
	onlyEntry(t, dir, "target")
}

func TestWriteFileSuccess(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "target")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	fs := &faultFS{}
	if err := (Writer{FS: fs, Perm: 0o640, SyncDir: true}).WriteFile(path, []byte("new")); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != "new" {
		t.Fatalf("target = %q, %v; want %q", got, err, "new")
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o640 {
		t.Fatalf("mode = %v, %v; want 0640", st.Mode().Perm(), err)
	}
	if len(fs.dirSyncs) != 1 || fs.dirSyncs[0] != filepath.Clean(dir) {
		t.Errorf("directory syncs = %q, want exactly [%q]", fs.dirSyncs, dir)
	}
	onlyEntry(t, dir, "target")
}

func TestWriteFileNoDirSync(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fs := &faultFS{fail: "syncdir"}
	if err := (Writer{FS: fs}).WriteFile(filepath.Join(dir, "f"), []byte("x")); err != nil {
		t.Fatalf("WriteFile with SyncDir=false: %v", err)
	}
	if len(fs.dirSyncs) != 0 {
		t.Errorf("directory synced although SyncDir is false")
	}
}

func TestWriteFileNoSync(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fs := &faultFS{fail: "sync"}
	if err := (Writer{FS: fs, NoSync: true}).WriteFile(filepath.Join(dir, "f"), []byte("x")); err != nil {
		t.Fatalf("WriteFile with NoSync: %v", err)
	}
}

func TestWriteFileDefaultPerm(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "f")
	if err := (Writer{}).WriteFile(path, nil); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode = %v, %v; want 0600", st.Mode().Perm(), err)
	}
}

func TestConvenienceWriteFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "f")
	if err := WriteFile(path, []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != "data" {
		t.Fatalf("got %q, %v", got, err)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o644 {
		t.Errorf("mode = %v, want 0644", st.Mode().Perm())
	}
}

func TestWriteFileMissingDir(t *testing.T) {
	t.Parallel()
	err := WriteFile(filepath.Join(t.TempDir(), "absent", "f"), []byte("x"), 0o600)
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("error = %v, want ErrNotExist", err)
	}
}

func TestSyncDirMissing(t *testing.T) {
	t.Parallel()
	err := SyncDir(filepath.Join(t.TempDir(), "absent"))
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "safeio") {
		t.Fatalf("SyncDir error = %v, want a wrapped ErrNotExist", err)
	}
}

func TestRelativePath(t *testing.T) {
	// Not parallel: changes the working directory.
	t.Chdir(t.TempDir())
	if err := WriteFile("rel", []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile("rel"); err != nil || string(got) != "x" {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestWriteFileNoReplaceFailureLeavesNothing(t *testing.T) {
	t.Parallel()
	for _, step := range []string{"create", "chmod", "write", "sync", "close", "link"} {
		t.Run(step, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, "target")
			fs := &faultFS{fail: step}
			err := Writer{FS: fs, SyncDir: true, NoReplace: true}.WriteFile(path, []byte("new"))
			if !errors.Is(err, errInjected) {
				t.Fatalf("WriteFile error = %v, want the injected failure", err)
			}
			if len(fs.dirSyncs) != 0 {
				t.Errorf("directory synced after a failure: %v", fs.dirSyncs)
			}
			onlyEntry(t, dir, "")
		})
	}
}

func TestWriteFileNoReplaceCreates(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "target")
	fs := &faultFS{}
	if err := (Writer{FS: fs, SyncDir: true, NoReplace: true}).WriteFile(path, []byte("new")); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != "new" {
		t.Fatalf("target = %q, %v; want %q", got, err, "new")
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode = %v, %v; want 0600", st.Mode().Perm(), err)
	}
	if !fs.linked || fs.renamed {
		t.Errorf("linked = %v, renamed = %v; want a link, no rename", fs.linked, fs.renamed)
	}
	if len(fs.dirSyncs) != 1 || fs.dirSyncs[0] != filepath.Clean(dir) {
		t.Errorf("directory syncs = %q, want exactly [%q]", fs.dirSyncs, dir)
	}
	onlyEntry(t, dir, "target")
}

func TestWriteFileNoReplaceKeepsExisting(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "target")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	fs := &faultFS{}
	err := Writer{FS: fs, SyncDir: true, NoReplace: true}.WriteFile(path, []byte("new"))
	if !errors.Is(err, iofs.ErrExist) {
		t.Fatalf("WriteFile error = %v, want one matching fs.ErrExist", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "old" {
		t.Errorf("target = %q, want the old content", got)
	}
	if len(fs.dirSyncs) != 0 {
		t.Errorf("directory synced although nothing was written: %v", fs.dirSyncs)
	}
	onlyEntry(t, dir, "target")
}

// After the link the target holds the new data; a temporary file that cannot
// be removed is a second copy the caller must hear about.
func TestWriteFileNoReplaceRemoveFailure(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "target")
	fs := &faultFS{fail: "remove"}
	err := Writer{FS: fs, SyncDir: true, NoReplace: true}.WriteFile(path, []byte("new"))
	if !errors.Is(err, errInjected) {
		t.Fatalf("WriteFile error = %v, want the injected failure", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "new" {
		t.Errorf("target = %q, want the new content", got)
	}
}
