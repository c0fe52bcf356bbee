package keydir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestIndexReloadChangedAndKeepOnError(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("a@example.net\nb@example.net"), 0o600)
	load := func(name string, _ time.Time) []string {
		b, _ := Read(filepath.Join(dir, name))
		return strings.Fields(string(b))
	}
	self := func(v string, _ time.Time) []string { return []string{v} }
	x := NewIndex(dir, load, self)
	files, n, err := x.Reload(time.Now())
	if err != nil || files != 1 || n != 2 || x.Len() != 2 {
		t.Fatalf("reload: files=%d entries=%d len=%d err=%v", files, n, x.Len(), err)
	}
	if got := x.Candidates("b@example.net"); len(got) != 1 {
		t.Fatalf("candidates %v", got)
	}
	if changed, _ := x.Changed(); changed {
		t.Fatal("unchanged folder reported as changed")
	}
	os.WriteFile(filepath.Join(dir, "c.txt"), []byte("c@example.net"), 0o600)
	if changed, _ := x.Changed(); !changed {
		t.Fatal("new file not noticed")
	}
	os.RemoveAll(dir)
	if _, _, err := x.Reload(time.Now()); err == nil {
		t.Fatal("reload of a missing folder succeeded")
	}
	if x.Len() != 2 || len(x.Candidates("a@example.net")) != 1 {
		t.Fatal("failed reload dropped the previous index")
	}
}
