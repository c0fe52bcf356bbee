package pgp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// genKey has gpg make an RSA key of bits (primary and encryption subkey)
// for email and returns it exported, armored when armor is set.
func (g *gpg) genKey(email string, bits int, armor bool) []byte {
	g.t.Helper()
	params := fmt.Sprintf("Key-Type: RSA\nKey-Length: %d\nSubkey-Type: RSA\nSubkey-Length: %d\n"+
		"Name-Real: Test\nName-Email: %s\nExpire-Date: 0\n%%no-protection\n%%commit\n", bits, bits, email)
	if _, _, err := g.run([]byte(params), "--gen-key"); err != nil {
		g.t.Fatalf("gpg --gen-key %d bits: %v", bits, err)
	}
	args := []string{"--export", email}
	if armor {
		args = []string{"--armor", "--export", email}
	}
	out, _, err := g.run(nil, args...)
	if err != nil || len(out) == 0 {
		g.t.Fatalf("gpg --export: %v", err)
	}
	return out
}

// A gpg-made RSA-1024 key in the keyring is skipped with a log line that
// names its file; a gpg-made RSA-2048 key beside it is used.
func TestKeyringRefusesGPGRSA1024(t *testing.T) {
	g := newGPG(t)
	dir := t.TempDir()
	weak := g.genKey("weak@example.org", 1024, true)
	os.WriteFile(filepath.Join(dir, "weak.asc"), weak, 0o600)
	os.WriteFile(filepath.Join(dir, "strong.asc"), g.genKey("strong@example.org", 2048, true), 0o600)
	var logs bytes.Buffer
	now := time.Now().Add(time.Minute)
	k, err := LoadKeyring(dir, now, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := k.Lookup("weak@example.org", now); ok {
		t.Error("RSA-1024 key used")
	}
	if _, ok := k.Lookup("strong@example.org", now); !ok {
		t.Error("RSA-2048 key not used")
	}
	line := lineWith(logs.String(), "file=weak.asc")
	if !strings.Contains(line, "too weak for PHI") || !strings.Contains(line, "RSA of 1024 bits") {
		t.Errorf("no log line naming weak.asc and why:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "weak@example.org") {
		t.Error("log carries the address")
	}
	// Encrypt refuses it too, whoever hands it over.
	list, err := ParseKeys(weak)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Encrypt(EncryptRequest{Message: []byte("Subject: x\r\n\r\nbody\r\n"), To: list, Now: now})
	if !errors.Is(err, ErrWeakKey) {
		t.Errorf("Encrypt to RSA-1024: %v, want ErrWeakKey", err)
	}
}

// The same key published by WKD is not used either, and the log says
// where it came from.
func TestWKDRefusesGPGRSA1024(t *testing.T) {
	g := newGPG(t)
	w := newWKDServer(t)
	w.publish(t, "weak@example.org", true, g.genKey("weak@example.org", 1024, false))
	var logs bytes.Buffer
	now := time.Now().Add(time.Minute)
	c := NewWKDClient(WKDConfig{Client: w.client, Now: func() time.Time { return now },
		Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if _, err := c.Lookup(context.Background(), "weak@example.org"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("lookup: %v, want ErrNotFound", err)
	}
	line := lineWith(logs.String(), "too weak for PHI")
	if !strings.Contains(line, "source=wkd:openpgpkey.example.org") || !strings.Contains(line, "RSA of 1024 bits") {
		t.Errorf("no log line naming the WKD source and why:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "weak@") {
		t.Error("log carries the address")
	}
}

// Keys sealgate makes itself (Ed25519/Curve25519) pass the strength check.
func TestModernKeyIsNotWeak(t *testing.T) {
	if w := Weakness(newEntity(t, "a@example.org", t0, 0), t0); w != "" {
		t.Error(w)
	}
}

func lineWith(logs, s string) string {
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}
