// Package keydirtest checks, for the tests of the OpenPGP keyring and the
// S/MIME certificate store, that a key folder is read again as keydir
// promises. Only tests use it.
package keydirtest

import (
	"os"
	"testing"
	"time"
)

// Reloader is the part of keydir.Folder that a key store exposes.
type Reloader interface {
	Reload(now time.Time) error
	ReloadIfChanged(now time.Time) (bool, error)
}

// CheckReload checks the store r reading the folder dir at now: add puts a
// new key file into dir and found reports whether the store finds that
// key. The new file is picked up by ReloadIfChanged, which then sees no
// change; once the folder is gone Reload fails and the store keeps what
// it had.
func CheckReload(t *testing.T, dir string, now time.Time, r Reloader, add func(), found func() bool) {
	t.Helper()
	if found() {
		t.Fatal("the empty folder's store found the key")
	}
	add()
	if changed, err := r.ReloadIfChanged(now); err != nil || !changed {
		t.Fatalf("ReloadIfChanged after adding a file = %v, %v", changed, err)
	}
	if !found() {
		t.Error("ReloadIfChanged did not pick up the new key")
	}
	if changed, err := r.ReloadIfChanged(now); err != nil || changed {
		t.Errorf("ReloadIfChanged without a change = %v, %v", changed, err)
	}
	if err := r.Reload(now); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := r.Reload(now); err == nil {
		t.Error("Reload of a missing folder succeeded")
	}
	if !found() {
		t.Error("failed Reload dropped the previous index")
	}
}
