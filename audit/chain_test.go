package audit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealgate/sealgate/internal/testenv"
	"github.com/sealgate/sealgate/mail"
)

func testKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func pubOf(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }

// writeLog writes n accepted records (a checkpoint every 4) and closes the
// log, which writes its last checkpoint.
func writeLog(t *testing.T, path string, key ed25519.PrivateKey, n int) {
	t.Helper()
	l, err := Open(path, Options{Key: key, CheckpointEvery: 4, CheckpointInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		l.Accepted(&mail.Envelope{ID: fmt.Sprintf("q%d", i), From: "lab@clinic.example.org"})
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	return lines[:len(lines)-1] // after the last newline: ""
}

func writeLines(t *testing.T, path string, lines []string) {
	t.Helper()
	s := strings.Join(lines, "")
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestIntactLogVerifies(t *testing.T) {
	t.Parallel()
	key := testKey(t)
	p := filepath.Join(t.TempDir(), "audit.log")
	writeLog(t, p, key, 10)
	rep, err := Verify([]string{p}, pubOf(key))
	if err != nil || rep.Broken != nil {
		t.Fatalf("intact log: %v %v", rep.Broken, err)
	}
	// 10 records, a checkpoint after every 4 (2) and one at Close.
	if rep.Records != 13 || rep.Checkpoints != 3 || rep.Unsigned != 0 || rep.FirstSeq != 1 {
		t.Errorf("report %+v", rep)
	}
	var first map[string]any
	json.Unmarshal([]byte(readLines(t, p)[0]), &first)
	if first["seq"] != 1.0 || first["prev"] != strings.Repeat("0", 64) || first["event"] != "accepted" {
		t.Errorf("first record %v", first)
	}
}

// TestTamperingIsNamed: each kind of change is reported at the first broken line.
func TestTamperingIsNamed(t *testing.T) {
	t.Parallel()
	key := testKey(t)
	cases := []struct {
		name   string
		change func([]string) []string
		line   int
		why    string
	}{
		{"edited in the middle", func(l []string) []string {
			l[5] = strings.Replace(l[5], "q4", "q9", 1)
			return l
		}, 6, "edited"},
		{"line removed", func(l []string) []string { return append(l[:3:3], l[4:]...) }, 4, "missing"},
		{"reordered", func(l []string) []string { l[2], l[3] = l[3], l[2]; return l }, 3, "missing"},
		{"repeated", func(l []string) []string { return append(l[:4:4], l[3:]...) }, 5, "reordered or repeated"},
		{"truncated mid-line", func(l []string) []string {
			l = l[:7]
			l[6] = l[6][:len(l[6])/2]
			return l
		}, 7, "cut short"},
		{"not JSON", func(l []string) []string { l[2] = "hello\n"; return l }, 3, "not an audit record"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "audit.log")
			writeLog(t, p, key, 10)
			writeLines(t, p, c.change(readLines(t, p)))
			rep, err := Verify([]string{p}, pubOf(key))
			if err != nil {
				t.Fatal(err)
			}
			if rep.Broken == nil {
				t.Fatalf("not detected: %+v", rep)
			}
			if rep.Broken.Line != c.line || !strings.Contains(rep.Broken.Why, c.why) {
				t.Errorf("got %v, want line %d (%s)", rep.Broken, c.line, c.why)
			}
		})
	}
}

// TestTruncatedAtALineShowsUnsigned: whole records cut from the end leave
// a chain that holds, but the records after the last checkpoint are
// reported unsigned (a clean log ends with a checkpoint).
func TestTruncatedAtALineShowsUnsigned(t *testing.T) {
	t.Parallel()
	key := testKey(t)
	p := filepath.Join(t.TempDir(), "audit.log")
	writeLog(t, p, key, 10)
	lines := readLines(t, p)
	writeLines(t, p, lines[:len(lines)-1])
	rep, err := Verify([]string{p}, pubOf(key))
	if err != nil || rep.Broken != nil {
		t.Fatalf("%v %v", rep.Broken, err)
	}
	if rep.Unsigned != 2 {
		t.Errorf("unsigned = %d, want the 2 records after the last checkpoint", rep.Unsigned)
	}
}

// TestForgedCheckpoint: a log rewritten with a recomputed chain and
// checkpoints signed by another key fails; so does an altered signature.
func TestForgedCheckpoint(t *testing.T) {
	t.Parallel()
	key, other := testKey(t), testKey(t)
	dir := t.TempDir()
	forged := filepath.Join(dir, "forged.log")
	writeLog(t, forged, other, 3)
	rep, _ := Verify([]string{forged}, pubOf(key))
	if rep.Broken == nil || rep.Broken.Line != 4 || !strings.Contains(rep.Broken.Why, "not the gateway's audit key") {
		t.Errorf("checkpoint by another key: %v", rep.Broken)
	}

	p := filepath.Join(dir, "audit.log")
	writeLog(t, p, key, 3)
	lines := readLines(t, p)
	var cp map[string]any
	json.Unmarshal([]byte(lines[3]), &cp)
	sig := []byte(cp["sig"].(string))
	sig[3] ^= 1
	lines[3] = strings.Replace(lines[3], cp["sig"].(string), string(sig), 1)
	writeLines(t, p, lines)
	rep, _ = Verify([]string{p}, pubOf(key))
	if rep.Broken == nil || rep.Broken.Line != 4 || !strings.Contains(rep.Broken.Why, "does not verify") {
		t.Errorf("altered signature: %v", rep.Broken)
	}
	rep, _ = Verify([]string{p}, nil)
	if rep.Broken == nil || !strings.Contains(rep.Broken.Why, "no audit public key") {
		t.Errorf("no key: %v", rep.Broken)
	}
}

// TestRotationKeepsTheChain: the log renamed away (logrotate), the writer
// goes on in a new file whose first record carries the old file's last
// hash; a new process opening the empty new file continues from the
// rotated one too. Given in order, the files verify; a file left out or
// given out of order is named.
func TestRotationKeepsTheChain(t *testing.T) {
	t.Parallel()
	key := testKey(t)
	dir := t.TempDir()
	p := filepath.Join(dir, "audit.log")
	l, err := Open(p, Options{Key: key, CheckpointEvery: 100, CheckpointInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	l.Rejected("c", "127.0.0.1", "one")
	l.Rejected("c", "127.0.0.1", "two")
	if err := os.Rename(p, p+".1"); err != nil {
		t.Fatal(err)
	}
	l.Rejected("c", "127.0.0.1", "three")
	l.Close()
	if err := os.Rename(p, p+".2"); err != nil {
		t.Fatal(err)
	}
	// A new process (a CLI command) finds an empty log and rotated files.
	os.Chtimes(p+".1", testOld, testOld)
	writeLog(t, p, key, 1)

	files := []string{p + ".1", p + ".2", p}
	rep, err := Verify(files, pubOf(key))
	if err != nil || rep.Broken != nil {
		t.Fatalf("rotated series: %v %v", rep.Broken, err)
	}
	if rep.Records != 6 {
		t.Errorf("records %d, want 6 (3 + checkpoint, 1 + checkpoint)", rep.Records)
	}
	rep, _ = Verify(files[1:], pubOf(key))
	if rep.Broken != nil || rep.FirstSeq != 3 {
		t.Errorf("a later file alone verifies as a continuation: %+v", rep)
	}
	rep, _ = Verify([]string{p + ".1", p}, pubOf(key))
	if rep.Broken == nil || rep.Broken.File != p || rep.Broken.Line != 1 {
		t.Errorf("missing middle file: %v", rep.Broken)
	}
}

// TestTwoWritersShareOneChain: a second process appending to the log (a
// CLI command's operator record) does not fork the chain.
func TestTwoWritersShareOneChain(t *testing.T) {
	t.Parallel()
	key := testKey(t)
	p := filepath.Join(t.TempDir(), "audit.log")
	a, err := Open(p, Options{Key: key, CheckpointInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(p, Options{Key: key, CheckpointInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		a.Rejected("c", "127.0.0.1", fmt.Sprint(i))
		if err := b.Operator("release", "q", "uid=0(root)", "ok"); err != nil {
			t.Fatal(err)
		}
	}
	a.Close()
	b.Close()
	rep, err := Verify([]string{p}, pubOf(key))
	if err != nil || rep.Broken != nil || rep.Records != 12 {
		t.Fatalf("two writers: %+v %v", rep, err)
	}
}

// TestTornTailIsEnded: a record cut short by a crash is ended with a
// newline on the next open; the chain goes on from the last whole record
// and Verify names the cut line.
func TestTornTailIsEnded(t *testing.T) {
	t.Parallel()
	key := testKey(t)
	p := filepath.Join(t.TempDir(), "audit.log")
	writeLog(t, p, key, 2)
	f, _ := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"seq":4,"prev":"00`)
	f.Close()
	l, err := Open(p, Options{Key: key, CheckpointInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); !bytes.HasSuffix(b, []byte(`"00`)) {
		t.Fatalf("open changed a torn log before there was a record to write: %q", b[len(b)-8:])
	}
	l.Rejected("c", "127.0.0.1", "after the crash")
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil { // a second Close does nothing
		t.Fatal(err)
	}
	lines := readLines(t, p)
	if len(lines) != 6 || !bytes.HasSuffix([]byte(lines[3]), []byte("\"00\n")) {
		t.Fatalf("lines %q", lines)
	}
	rep, _ := Verify([]string{p}, pubOf(key))
	if rep.Broken == nil || rep.Broken.Line != 4 {
		t.Errorf("torn line: %v", rep.Broken)
	}
}

var testOld = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// TestTimerCheckpointsAndCloseStopsIt: with the checkpoint timer on, an idle
// log gets its checkpoint without Close, and Close returns (the timer
// goroutine stops) however soon after Open it comes.
func TestTimerCheckpointsAndCloseStopsIt(t *testing.T) {
	t.Parallel()
	key := testKey(t)
	p := filepath.Join(t.TempDir(), "audit.log")
	for i := range 50 {
		l, err := Open(p, Options{Key: key, CheckpointInterval: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			l.Rejected("c", "127.0.0.1", "x")
			testenv.WaitFor(t, 30*time.Second, "a checkpoint from the timer", func() bool {
				b, _ := os.ReadFile(p)
				return bytes.Contains(b, []byte(`"event":"checkpoint"`))
			})
		}
		done := make(chan error)
		go func() { done <- l.Close() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("Close did not return")
		}
	}
	if rep, err := Verify([]string{p}, pubOf(key)); err != nil || rep.Broken != nil || rep.Unsigned != 0 {
		t.Fatalf("%+v %v", rep, err)
	}
}

// halfWriter writes half of the first line it is given and fails, as a
// disk that fills mid-record does; later writes go through.
type halfWriter struct {
	w    io.Writer
	done bool
}

func (h *halfWriter) Write(b []byte) (int, error) {
	if h.done {
		return h.w.Write(b)
	}
	h.done = true
	n, _ := h.w.Write(b[:len(b)/2])
	return n, errors.New("no space left on device")
}

// TestRecordAfterAPartialWriteStartsItsOwnLine: a record cut short by a
// failed write leaves the file ending mid-line; the next record ends that
// line first, so it is whole and readable (the cut one is named broken).
func TestRecordAfterAPartialWriteStartsItsOwnLine(t *testing.T) {
	t.Parallel()
	key := testKey(t)
	p := filepath.Join(t.TempDir(), "audit.log")
	l, err := Open(p, Options{Key: key, CheckpointInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	l.Accepted(&mail.Envelope{ID: "q1", From: "lab@clinic.example.org"})
	l.w = &halfWriter{w: l.w}
	if err := l.Operator("release", "q2", "uid=0(root)", "requested"); err == nil {
		t.Fatal("a failed write was not reported")
	}
	if err := l.Operator("release", "q3", "uid=0(root)", "requested"); err != nil {
		t.Fatal(err)
	}
	l.Close()
	lines := readLines(t, p)
	if len(lines) < 3 {
		t.Fatalf("lines %q", lines)
	}
	var rec struct {
		QueueID string `json:"queue_id"`
	}
	if err := json.Unmarshal([]byte(lines[2]), &rec); err != nil || rec.QueueID != "q3" {
		t.Fatalf("the record after the cut one is not a line of its own: %q (%v)", lines[2], err)
	}
	if rep, _ := Verify([]string{p}, pubOf(key)); rep.Broken == nil || rep.Broken.Line != 2 {
		t.Errorf("the cut record is not named: %+v", rep.Broken)
	}
}
