package portalbox

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func openTest(t *testing.T, dir string, c *clock) *FileStore {
	t.Helper()
	s, err := OpenFileStore(FileConfig{Dir: filepath.Join(dir, "portal"), MasterKeyFile: filepath.Join(dir, "keys", "portal.key"), Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func testItem(qid, rcpt string) Item {
	return Item{QueueID: qid, Recipient: rcpt, Sender: "lab@clinic.example.org",
		Message: []byte("Subject: Biopsy results\r\n\r\nThe biopsy shows carcinoma.\r\n"), Expires: t0.Add(time.Hour)}
}

// allFiles returns the contents of every file under dir.
func allFiles(t *testing.T, dir string) []byte {
	t.Helper()
	var all []byte
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			all = append(all, b...)
		}
		return nil
	})
	return all
}

func TestPutGetRoundTripAndNothingInTheClear(t *testing.T) {
	dir, c := t.TempDir(), &clock{t0}
	s := openTest(t, dir, c)
	it := testItem("Q1", "pat@example.net")
	token, err := s.Put(context.Background(), it)
	if err != nil {
		t.Fatal(err)
	}
	if raw, err := base64.RawURLEncoding.DecodeString(token); err != nil || len(raw)*8 < 128 {
		t.Fatalf("token %q has %d bytes (%v), want >= 16", token, len(raw), err)
	}
	got, err := s.Get(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Message, it.Message) || got.Recipient != it.Recipient || got.Sender != it.Sender || got.QueueID != "Q1" {
		t.Fatalf("got %+v", got)
	}
	stored := allFiles(t, dir)
	for _, secret := range []string{"carcinoma", "Biopsy", "pat@example.net", "clinic.example.org", token} {
		if bytes.Contains(stored, []byte(secret)) {
			t.Errorf("store holds %q in the clear", secret)
		}
	}
	if !bytes.Contains(stored, []byte(TokenHash(token))) {
		t.Error("index does not key the item by the token's hash")
	}
	fi, err := os.Stat(filepath.Join(dir, "keys", "portal.key"))
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Size() != KeySize {
		t.Fatalf("master key: %v %v", fi, err)
	}
}

func TestDeleteRemovesSealedBytes(t *testing.T) {
	dir, c := t.TempDir(), &clock{t0}
	s := openTest(t, dir, c)
	token, err := s.Put(context.Background(), testItem("Q1", "pat@example.net"))
	if err != nil {
		t.Fatal(err)
	}
	msgs := filepath.Join(dir, "portal", "msgs")
	if n, _ := os.ReadDir(msgs); len(n) != 1 {
		t.Fatalf("%d message files, want 1", len(n))
	}
	if err := s.Delete(context.Background(), token); err != nil {
		t.Fatal(err)
	}
	if n, _ := os.ReadDir(msgs); len(n) != 0 {
		t.Fatalf("%d message files after delete, want 0", len(n))
	}
	if _, err := s.Get(context.Background(), token); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after delete: %v", err)
	}
	if err := s.Delete(context.Background(), token); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

func TestExpiryAndPurge(t *testing.T) {
	dir, c := t.TempDir(), &clock{t0}
	s := openTest(t, dir, c)
	short := testItem("Q1", "a@example.net")
	short.Expires = t0.Add(time.Minute)
	t1, _ := s.Put(context.Background(), short)
	t2, _ := s.Put(context.Background(), testItem("Q2", "b@example.net"))
	c.now = t0.Add(2 * time.Minute)
	if _, err := s.Get(context.Background(), t1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("expired item: %v", err)
	}
	n, err := s.Purge(context.Background(), c.now)
	if err != nil || n != 1 {
		t.Fatalf("purge = %d, %v; want 1", n, err)
	}
	if _, err := s.Get(context.Background(), t2); err != nil {
		t.Fatalf("live item after purge: %v", err)
	}
	if files, _ := os.ReadDir(filepath.Join(dir, "portal", "msgs")); len(files) != 1 {
		t.Fatalf("%d files after purge, want 1", len(files))
	}
}

func TestPutReplacesSameQueueIDAndRecipient(t *testing.T) {
	dir, c := t.TempDir(), &clock{t0}
	s := openTest(t, dir, c)
	first, _ := s.Put(context.Background(), testItem("Q1", "pat@example.net"))
	other, _ := s.Put(context.Background(), testItem("Q1", "dr@example.net"))
	second, err := s.Put(context.Background(), testItem("Q1", "pat@example.net"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(context.Background(), first); !errors.Is(err, ErrNotFound) {
		t.Errorf("replaced token still works: %v", err)
	}
	for _, tok := range []string{other, second} {
		if _, err := s.Get(context.Background(), tok); err != nil {
			t.Errorf("live token: %v", err)
		}
	}
	if s.Len() != 2 {
		t.Errorf("Len = %d, want 2", s.Len())
	}
}

func TestReopenKeepsItemsAndSweepsOrphans(t *testing.T) {
	dir, c := t.TempDir(), &clock{t0}
	s := openTest(t, dir, c)
	token, _ := s.Put(context.Background(), testItem("Q1", "pat@example.net"))
	s.Close()
	if _, err := s.Get(context.Background(), token); !errors.Is(err, ErrClosed) {
		t.Fatalf("Get after Close: %v", err)
	}
	orphan := filepath.Join(dir, "portal", "msgs", "deadbeef")
	os.WriteFile(orphan, []byte("left by a crash"), 0o600)
	s2 := openTest(t, dir, c)
	if _, err := s2.Get(context.Background(), token); err != nil {
		t.Fatalf("after reopen: %v", err)
	}
	if _, err := os.Stat(orphan); !os.IsNotExist(err) {
		t.Errorf("orphan message file not removed: %v", err)
	}
}

func TestRefusesBadInput(t *testing.T) {
	dir, c := t.TempDir(), &clock{t0}
	s := openTest(t, dir, c)
	for _, tok := range []string{"", "short", TokenHash("x"), "../../etc/passwd"} {
		if _, err := s.Get(context.Background(), tok); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%q) = %v, want ErrNotFound", tok, err)
		}
	}
	if _, err := s.Put(context.Background(), Item{Recipient: "a@b.example"}); err == nil {
		t.Error("Put without expiry accepted")
	}
	bad := filepath.Join(dir, "bad.key")
	os.WriteFile(bad, []byte("too short"), 0o600)
	if _, err := OpenFileStore(FileConfig{Dir: filepath.Join(dir, "p2"), MasterKeyFile: bad}); err == nil {
		t.Error("master key of the wrong size accepted")
	}
}

func TestWrongMasterKeyCannotOpen(t *testing.T) {
	dir, c := t.TempDir(), &clock{t0}
	s := openTest(t, dir, c)
	token, _ := s.Put(context.Background(), testItem("Q1", "pat@example.net"))
	s.Close()
	os.Remove(filepath.Join(dir, "keys", "portal.key"))
	s2 := openTest(t, dir, c)
	if _, err := s2.Get(context.Background(), token); err == nil || errors.Is(err, ErrNotFound) {
		t.Fatalf("Get under another master key = %v, want an authentication error", err)
	}
}

// A master key file that group or others can read is refused, and the
// store says which file and how to fix it.
func TestRefusesMasterKeyOpenToOthers(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "portal.key")
	os.WriteFile(path, bytes.Repeat([]byte{1}, KeySize), 0o600)
	os.Chmod(path, 0o640)
	_, err := OpenFileStore(FileConfig{Dir: filepath.Join(dir, "p"), MasterKeyFile: path})
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("OpenFileStore = %v, want a refusal naming the key file and chmod 600", err)
	}
}
