package pgp

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/sealgate/sealgate/encrypt/keydir/keydirtest"
)

// logBuffer returns a logger writing text lines into a buffer.
func logBuffer() (*slog.Logger, *bytes.Buffer) {
	var b bytes.Buffer
	return slog.New(slog.NewTextHandler(&b, nil)), &b
}

func writeFile(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestKeyringSkipsBadKeys(t *testing.T) {
	dir := t.TempDir()
	good := newEntity(t, "Alice@Example.ORG", t0, 0)
	writeFile(t, dir, "good.asc", armoredPublic(t, good))
	writeFile(t, dir, "expired.asc", armoredPublic(t, newEntity(t, "old@example.org", t0.Add(-48*time.Hour), 3600)))
	revoked := newEntity(t, "gone@example.org", t0, 0)
	if err := revoked.RevokeKey(packet.KeyCompromised, "test", nil); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "revoked.asc", armoredPublic(t, revoked))
	subRevoked := newEntity(t, "subgone@example.org", t0, 0)
	if err := subRevoked.RevokeSubkey(&subRevoked.Subkeys[0], packet.KeySuperseded, "test", &packet.Config{Time: func() time.Time { return t0 }}); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "subrevoked.asc", armoredPublic(t, subRevoked))
	signOnly := newEntity(t, "signer@example.org", t0, 0)
	signOnly.Subkeys = nil
	writeFile(t, dir, "signonly.asc", armoredPublic(t, signOnly))
	writeFile(t, dir, "garbage.asc", []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot a key\n-----END PGP PUBLIC KEY BLOCK-----\n"))
	writeFile(t, dir, "random.bin", []byte{0x99, 0x01, 0xff, 0x00, 0x13, 0x37})
	writeFile(t, dir, ".hidden.asc", armoredPublic(t, newEntity(t, "hidden@example.org", t0, 0)))

	log, buf := logBuffer()
	k, err := LoadKeyring(dir, t0, log)
	if err != nil {
		t.Fatal(err)
	}
	if k.Len() != 1 {
		t.Errorf("Len = %d, want 1", k.Len())
	}
	for file, reason := range map[string]string{"expired.asc": "expired", "revoked.asc": "revoked",
		"signonly.asc": "encryption", "subrevoked.asc": "encryption", "garbage.asc": "skipping", "random.bin": "skipping"} {
		if !logHas(buf.String(), "file="+file, reason) {
			t.Errorf("no log line for %s with %q:\n%s", file, reason, buf.String())
		}
	}
	if strings.Contains(buf.String(), "@example.org") {
		t.Errorf("log contains an address:\n%s", buf.String())
	}
	for _, addr := range []string{"old@example.org", "gone@example.org", "subgone@example.org", "signer@example.org", "hidden@example.org"} {
		if _, ok := k.Lookup(addr, t0); ok {
			t.Errorf("Lookup(%s) found an unusable key", addr)
		}
	}
}

// logHas reports whether one line of log contains all of subs.
func logHas(log string, subs ...string) bool {
	for _, line := range strings.Split(log, "\n") {
		ok := true
		for _, s := range subs {
			ok = ok && strings.Contains(line, s)
		}
		if ok {
			return true
		}
	}
	return false
}

func TestKeyringLookup(t *testing.T) {
	dir := t.TempDir()
	older := newEntity(t, "Alice@Example.ORG", t0, 0)
	newer := newEntity(t, "Alice@example.org", t0.Add(time.Hour), 0)
	writeFile(t, dir, "keys.asc", append(armoredPublic(t, older), armoredPublic(t, newer)...))
	k, err := LoadKeyring(dir, t0.Add(2*time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		addr string
		want bool
	}{
		{"Alice@example.org", true},
		{"Alice@EXAMPLE.org", true},
		{"alice@example.org", false}, // local parts are compared exactly
		{"bob@example.org", false},
		{"not-an-address", false},
	}
	for _, tc := range tests {
		if _, ok := k.Lookup(tc.addr, t0.Add(2*time.Hour)); ok != tc.want {
			t.Errorf("Lookup(%q) = %v, want %v", tc.addr, ok, tc.want)
		}
	}
	e, _ := k.Lookup("Alice@example.org", t0.Add(2*time.Hour))
	if e == nil || e.PrimaryKey.KeyId != newer.PrimaryKey.KeyId {
		t.Error("Lookup did not prefer the newest key")
	}
}

func TestKeyringLookupHonoursExpiry(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.asc", armoredPublic(t, newEntity(t, "a@example.org", t0, 3600)))
	k, err := LoadKeyring(dir, t0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := k.Lookup("a@example.org", t0.Add(time.Minute)); !ok {
		t.Fatal("valid key not found")
	}
	if _, ok := k.Lookup("a@example.org", t0.Add(2*time.Hour)); ok {
		t.Error("key found after it expired")
	}
}

func TestKeyringReload(t *testing.T) {
	dir := t.TempDir()
	k, err := LoadKeyring(dir, t0, nil)
	if err != nil {
		t.Fatal(err)
	}
	keydirtest.CheckReload(t, dir, t0, k,
		func() { writeFile(t, dir, "new.asc", armoredPublic(t, newEntity(t, "new@example.org", t0, 0))) },
		func() bool { _, ok := k.Lookup("new@example.org", t0); return ok })
}

func TestLoadKeyringMissingDir(t *testing.T) {
	if _, err := LoadKeyring(filepath.Join(t.TempDir(), "nope"), t0, nil); err == nil {
		t.Error("LoadKeyring of a missing folder succeeded")
	}
}

func TestParseKeysNeverPanics(t *testing.T) {
	inputs := [][]byte{nil, {0xff}, {0x99, 0xff, 0xff}, []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----\n"), bytes.Repeat([]byte{0xc6}, 300)}
	for _, in := range inputs {
		if _, err := ParseKeys(in); err == nil {
			t.Errorf("ParseKeys(%x) succeeded", in)
		}
	}
}

func FuzzParseKeys(f *testing.F) {
	f.Add([]byte("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxjMEZ\n-----END PGP PUBLIC KEY BLOCK-----\n"))
	f.Add([]byte{0x99, 0x00, 0x0d, 0x04})
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = ParseKeys(data)
	})
}
