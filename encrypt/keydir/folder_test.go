package keydir

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A Folder logs each load with its count, reloads only after a change, and
// names itself in an error.
func TestFolderReloadsOnChangeAndNamesErrors(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a"), []byte("x@example.net"), 0o600)
	var logs bytes.Buffer
	load := func(name string, _ time.Time) []string {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		return []string{string(b)}
	}
	f := &Folder[string]{Index: NewIndex(dir, load, func(v string, _ time.Time) []string { return []string{v} }),
		Name: "test: folder", Loaded: "test folder loaded", Unit: "entries", Log: slog.New(slog.NewTextHandler(&logs, nil))}
	now := time.Now()
	if err := f.Reload(now); err != nil || f.Len() != 1 || !strings.Contains(logs.String(), "entries=1") {
		t.Fatalf("Reload: %v, len %d, log %q", err, f.Len(), logs.String())
	}
	if changed, err := f.ReloadIfChanged(now); changed || err != nil {
		t.Fatalf("unchanged folder reloaded: %v %v", changed, err)
	}
	os.WriteFile(filepath.Join(dir, "b"), []byte("y@example.net"), 0o600)
	if changed, err := f.ReloadIfChanged(now); !changed || err != nil || len(f.Candidates("y@example.net")) != 1 {
		t.Fatalf("changed folder: reloaded %v, %v, candidates %v", changed, err, f.Candidates("y@example.net"))
	}
	os.RemoveAll(dir)
	if err := f.Reload(now); err == nil || !strings.HasPrefix(err.Error(), "test: folder: ") || f.Len() != 2 {
		t.Fatalf("Reload of a gone folder: %v (len %d, the previous index must stay)", err, f.Len())
	}
}
