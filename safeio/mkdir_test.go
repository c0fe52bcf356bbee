package safeio

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// MkdirAll fsyncs the parent of every directory it creates, parents
// first, gives each the exact mode asked for, and syncs nothing when the
// directory already exists.
func TestMkdirAllSyncsEachNewDirectoryIntoItsParent(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	dir := filepath.Join(root, "a", "b", "data")
	fs := &faultFS{}
	if err := MkdirAll(fs, dir, 0o700); err != nil {
		t.Fatal(err)
	}
	want := []string{root, filepath.Join(root, "a"), filepath.Join(root, "a", "b")}
	if !slices.Equal(fs.dirSyncs, want) {
		t.Errorf("directory syncs = %q, want %q", fs.dirSyncs, want)
	}
	for _, d := range []string{filepath.Join(root, "a"), filepath.Join(root, "a", "b"), dir} {
		if st, err := os.Stat(d); err != nil || !st.IsDir() || st.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v, %v; want a directory with mode 0700", d, st, err)
		}
	}
	fs.dirSyncs = nil
	if err := MkdirAll(fs, dir, 0o700); err != nil || len(fs.dirSyncs) != 0 {
		t.Errorf("existing directory: error %v, syncs %q; want neither", err, fs.dirSyncs)
	}
}

// A failed parent sync is reported: the caller must not use a directory
// that may vanish in a power loss.
func TestMkdirAllReportsFailedSync(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	err := MkdirAll(&faultFS{fail: "syncdir"}, dir, 0o700)
	if !errors.Is(err, errInjected) {
		t.Fatalf("error = %v, want the injected sync failure", err)
	}
}

// A file where a directory should be is an error, not a silent success.
func TestMkdirAllRefusesFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := MkdirAll(nil, path, 0o700); err == nil {
		t.Fatal("a regular file was accepted as the directory")
	}
}
