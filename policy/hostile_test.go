package policy

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sealgate/sealgate/internal/hostile"
)

// hostileBound is the generous wall-time bound for one hostile message: it only catches
// hangs, not slowness.
const hostileBound = 30 * time.Second

func checkBounded(t *testing.T, msg []byte) Verdict {
	t.Helper()
	eng := newTestEngine(t, Config{})
	start := time.Now()
	v, err := eng.Check(context.Background(), msg, Input{})
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if d := time.Since(start); d > hostileBound {
		t.Fatalf("Check took %v, bound %v", d, hostileBound)
	}
	if v.Action == "" {
		t.Fatal("no action in verdict")
	}
	return v
}

func wantUnreadable(t *testing.T, v Verdict) {
	t.Helper()
	if !v.Unreadable || !v.PHI || v.Action != ActionEncrypt {
		t.Errorf("verdict %+v: want unreadable content, phi-possible, encrypt", v)
	}
}

func TestHostileDeepNesting(t *testing.T) {
	var b strings.Builder
	b.WriteString("From: a@b.example\r\nTo: c@d.example\r\nSubject: deep\r\nMIME-Version: 1.0\r\n")
	const depth = 200
	for i := 0; i < depth; i++ {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n--b%d\r\n", i, i)
	}
	b.WriteString("Content-Type: text/plain\r\n\r\nhello\r\n")
	for i := depth - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d--\r\n", i)
	}
	wantUnreadable(t, checkBounded(t, []byte(b.String())))
}

func TestHostileManyParts(t *testing.T) {
	var b strings.Builder
	b.WriteString("From: a@b.example\r\nTo: c@d.example\r\nSubject: parts\r\nMIME-Version: 1.0\r\n")
	b.WriteString("Content-Type: multipart/mixed; boundary=\"x\"\r\n\r\n")
	for i := 0; i < 10000; i++ {
		b.WriteString("--x\r\nContent-Type: text/plain\r\n\r\npart\r\n")
	}
	b.WriteString("--x--\r\n")
	wantUnreadable(t, checkBounded(t, []byte(b.String())))
}

func attachment(ctype, name string, data []byte) []byte {
	enc := base64.StdEncoding.EncodeToString(data)
	var lines strings.Builder
	for len(enc) > 76 {
		lines.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	lines.WriteString(enc + "\r\n")
	return []byte("From: a@b.example\r\nTo: c@d.example\r\nSubject: file\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"x\"\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nattached\r\n" +
		"--x\r\nContent-Type: " + ctype + "\r\nContent-Transfer-Encoding: base64\r\n" +
		"Content-Disposition: attachment; filename=\"" + name + "\"\r\n\r\n" + lines.String() + "--x--\r\n")
}

func TestHostileZipBombDOCX(t *testing.T) {
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	w, _ := zw.Create("word/document.xml")
	chunk := bytes.Repeat([]byte("A"), 1<<20)
	for i := 0; i < 100; i++ { // 100 MiB inflated, about 100 KiB compressed
		w.Write(chunk)
	}
	zw.Close()
	msg := attachment("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "bomb.docx", zb.Bytes())
	wantUnreadable(t, checkBounded(t, msg))
}

func TestHostileTruncatedBase64(t *testing.T) {
	msg := []byte("From: a@b.example\r\nTo: c@d.example\r\nSubject: x\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\nSGVsbG8gd29ybG\r\n") // "Hello world", cut mid-quantum
	wantUnreadable(t, checkBounded(t, msg))
}

func TestHostileInvalidCharset(t *testing.T) {
	msg := []byte("From: a@b.example\r\nTo: c@d.example\r\nSubject: x\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=\"x-no-such-charset\"\r\n\r\n\xff\xfe garbled\r\n")
	wantUnreadable(t, checkBounded(t, msg))
}

func TestHostileFiftyMegabytes(t *testing.T) {
	line := "Pollen counts peak in spring; keep windows closed and shower after outdoor activity.\r\n"
	body := strings.Repeat(line, 50<<20/len(line)+1)
	msg := []byte("From: a@b.example\r\nTo: c@d.example\r\nSubject: big\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\n" + body)
	if len(msg) < 50<<20 {
		t.Fatalf("message is %d bytes, want 50 MB", len(msg))
	}
	v := checkBounded(t, msg)
	if v.BytesScanned == 0 {
		t.Error("nothing scanned")
	}
	wantUnreadable(t, v) // larger than one part may be: the rest cannot be cleared
}

func TestHostileMalformedHeader(t *testing.T) {
	v := checkBounded(t, []byte("this is not a header\x00\r\n\r\nPatient: Jane Doe DOB 01/02/1980 asthma"))
	if !v.PHI {
		t.Errorf("unparseable message with PHI text: %+v", v)
	}
}

func TestUnreadableConfigurable(t *testing.T) {
	msg := []byte("From: a@b.example\r\nTo: c@d.example\r\nSubject: x\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=\"x-no-such-charset\"\r\n\r\nh\xe9llo\r\n")
	eng := newTestEngine(t, Config{Unreadable: ActionDeliver})
	v, err := eng.Check(context.Background(), msg, Input{})
	if err != nil {
		t.Fatal(err)
	}
	if v.PHI || v.Action != ActionDeliver || !v.Unreadable {
		t.Errorf("unreadable=deliver: verdict %+v", v)
	}
	eng = newTestEngine(t, Config{Unreadable: ActionQuarantine})
	if v, _ = eng.Check(context.Background(), msg, Input{}); v.Action != ActionQuarantine {
		t.Errorf("unreadable=quarantine: action %q", v.Action)
	}
}

func TestAttachedEMLFileIsReadAsMessage(t *testing.T) {
	inner := "From: a@b.example\r\nTo: c@d.example\r\nSubject: result\r\nContent-Type: text/plain\r\n\r\nPatient: Ida Brandt, DOB 04/05/1977, HbA1c 9.4%\r\n"
	v := checkBounded(t, attachment("application/octet-stream", "fwd.eml", []byte(inner)))
	if !v.PHI || v.Unreadable {
		t.Errorf("verdict %+v: want PHI read from the attached .eml", v)
	}
}

func TestUnknownCharsetIsUnreadableEvenWhenASCII(t *testing.T) {
	// A charset that cannot be decoded (UTF-7 among them) cannot be read as a mail
	// client shows it, whatever its bytes look like: "+AFA-atient" is "Patient".
	msg := []byte("From: a@b.example\r\nTo: c@d.example\r\nSubject: x\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=\"x-unknown\"\r\n\r\nPizza at noon.\r\n")
	wantUnreadable(t, checkBounded(t, msg))
}

func TestTimeLimitEndsInConservativeVerdict(t *testing.T) {
	eng := newTestEngine(t, Config{Limits: Limits{MaxTime: time.Nanosecond}})
	msg := []byte("From: a@b.example\r\nTo: c@d.example\r\nSubject: x\r\n\r\nPizza at noon.\r\n")
	v, err := eng.Check(context.Background(), msg, Input{})
	if err != nil {
		t.Fatalf("own time limit reported as an error: %v", err)
	}
	wantUnreadable(t, v)
}

// TestHostileParts runs the shared table of hostile part headers through
// the policy: the part whose header does not read (or the nesting past the
// depth limit) leaves the message unreadable, so it is protected, although
// its top-level header reads.
func TestHostileParts(t *testing.T) {
	for _, c := range hostile.Parts() {
		v := checkBounded(t, c.Msg)
		if !v.Unreadable || !v.PHI || v.Action != ActionEncrypt {
			t.Errorf("%s: verdict %+v, want unreadable and protected", c.Name, v)
		}
	}
}

// TestEncodedMultipartIsUnreadable: a multipart body may have no transfer
// encoding but 7bit, 8bit or binary (RFC 2045 §6.4); one in base64 is
// split as written, as go-message reads it, finds no delimiter and is
// unreadable: the message is protected.
func TestEncodedMultipartIsUnreadable(t *testing.T) {
	inner := "--P\r\nContent-Type: text/plain\r\n\r\n" + hostile.PHI + "\r\n--P--\r\n"
	msg := []byte("From: a@b.example\r\nTo: c@d.example\r\nSubject: x\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"P\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		base64.StdEncoding.EncodeToString([]byte(inner)) + "\r\n")
	wantUnreadable(t, checkBounded(t, msg))
}
