package keywrap

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWrapAndEncryptRoundTripAndBinding(t *testing.T) {
	m, err := LoadOrCreate(filepath.Join(t.TempDir(), "keys", "portal.key"))
	if err != nil {
		t.Fatal(err)
	}
	key, wrapped := m.NewMessageKey("m1")
	if bytes.Contains(wrapped, key) {
		t.Fatal("wrapped key contains the key")
	}
	got, err := m.Unwrap("m1", wrapped)
	if err != nil || !bytes.Equal(got, key) {
		t.Fatalf("unwrap: %v", err)
	}
	if _, err := m.Unwrap("m2", wrapped); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("unwrap under another ID: %v", err)
	}
	encrypted, err := EncryptContent(key, "m1", []byte("Dear patient, your results"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(encrypted, []byte("patient")) {
		t.Fatal("encrypted content holds plaintext")
	}
	if _, err := DecryptContent(key, "m2", encrypted); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("open under another ID: %v", err)
	}
	plain, err := DecryptContent(key, "m1", encrypted)
	if err != nil || string(plain) != "Dear patient, your results" {
		t.Fatalf("open: %q %v", plain, err)
	}
}

func TestLoadOrCreateKeepsKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "portal.key")
	a, err := LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v %v", st.Mode(), err)
	}
	b, err := LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.CodeHash("m", "123"), b.CodeHash("m", "123")) {
		t.Fatal("reloaded key differs")
	}
	os.WriteFile(path, []byte("short"), 0o600)
	if _, err := LoadOrCreate(path); err == nil {
		t.Fatal("short key accepted")
	}
}

func TestLoadOrCreateRefusesKeyOpenToOthers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "portal.key")
	os.WriteFile(path, bytes.Repeat([]byte{1}, KeySize), 0o600)
	os.Chmod(path, 0o644)
	_, err := LoadOrCreate(path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "0644") || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("LoadOrCreate = %v, want a refusal naming the file, its mode and chmod 600", err)
	}
}
