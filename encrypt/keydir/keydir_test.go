package keydir

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestListAndRead(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"b.asc", "a.pem", ".hidden"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a.pem", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	names, err := List(dir)
	if err != nil || !reflect.DeepEqual(names, []string{"a.pem", "b.asc"}) {
		t.Errorf("List = %v, %v", names, err)
	}
	if b, err := Read(filepath.Join(dir, "a.pem")); err != nil || string(b) != "a.pem" {
		t.Errorf("Read = %q, %v", b, err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, MaxFile+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(big); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Read of a large file: %v", err)
	}
	if _, err := List(filepath.Join(dir, "missing")); err == nil {
		t.Error("List of a missing folder succeeded")
	}
}

func TestStampChanges(t *testing.T) {
	dir := t.TempDir()
	s1, err := Stamp(dir)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "k.asc")
	if err := os.WriteFile(p, []byte("one"), 0o644); err != nil {
		t.Fatal(err)
	}
	s2, _ := Stamp(dir)
	if s2 == s1 {
		t.Error("stamp unchanged after adding a file")
	}
	if s3, _ := Stamp(dir); s3 != s2 {
		t.Error("stamp changed without a change")
	}
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(p, later, later); err != nil {
		t.Fatal(err)
	}
	if s4, _ := Stamp(dir); s4 == s2 {
		t.Error("stamp unchanged after rewriting a file")
	}
}
