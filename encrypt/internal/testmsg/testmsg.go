// Package testmsg holds the messages that the OpenPGP and S/MIME tests
// encrypt and decrypt again: a multipart message whose binary attachment
// must survive the round trip exactly, and a 100 KB one for benchmarks.
// It also checks what comes back. Only tests use it.
package testmsg

import (
	"bytes"
	"encoding/base64"
	"io"
	"strings"
	"testing"

	"github.com/emersion/go-message"
)

// Attachment is binary content (every byte value) that must come back
// exactly.
var Attachment = func() []byte {
	b := make([]byte, 3000)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}()

// Mixed is a multipart/mixed message with a text part and Attachment as a
// PDF.
func Mixed() []byte {
	enc := base64.StdEncoding.EncodeToString(Attachment)
	var att strings.Builder
	for len(enc) > 76 {
		att.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	att.WriteString(enc + "\r\n")
	return []byte("From: Dr. House <house@example-clinic.org>\r\n" +
		"To: patient@example.net\r\n" +
		"Subject: Your biopsy results\r\n" +
		"Date: Mon, 2 Nov 2026 10:00:00 +0000\r\n" +
		"Message-ID: <r1@example-clinic.org>\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"b1\"\r\n" +
		"\r\n" +
		"--b1\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"\r\n" +
		"Dear patient, the results are attached.\r\n" +
		"--b1\r\n" +
		"Content-Type: application/pdf; name=\"results.pdf\"\r\n" +
		"Content-Disposition: attachment; filename=\"results.pdf\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n" +
		"\r\n" +
		att.String() +
		"--b1--\r\n")
}

// Large is a message of about 100 KB: a base64 attachment in a multipart
// message.
func Large() []byte {
	var b bytes.Buffer
	b.WriteString("From: house@example-clinic.org\r\nTo: patient@example.net\r\nSubject: Results\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n" +
		"Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	line := "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n"
	for b.Len() < 100*1024-len(line)-10 {
		b.WriteString(line)
	}
	b.WriteString("--b1--\r\n")
	return b.Bytes()
}

// BodyOf returns what follows the header of an RFC 5322 message.
func BodyOf(msg []byte) []byte {
	_, body, _ := bytes.Cut(msg, []byte("\r\n\r\n"))
	return body
}

// CheckInner checks that a decrypted entity carries the real subject, the
// original body of orig (Mixed) byte for byte, and Attachment.
func CheckInner(t *testing.T, plain, orig []byte) {
	t.Helper()
	if !bytes.Equal(BodyOf(plain), BodyOf(orig)) {
		t.Errorf("decrypted body differs from the original")
	}
	m, err := message.Read(bytes.NewReader(plain))
	if err != nil {
		t.Fatal(err)
	}
	if s := m.Header.Get("Subject"); s != "Your biopsy results" {
		t.Errorf("inner Subject = %q", s)
	}
	if _, p, _ := m.Header.ContentType(); p["protected-headers"] != "v1" {
		t.Errorf("inner Content-Type lacks protected-headers: %v", p)
	}
	mr := m.MultipartReader()
	if mr == nil {
		t.Fatal("inner entity is not multipart")
	}
	var got []byte
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		if ct, _, _ := p.Header.ContentType(); ct == "application/pdf" {
			got, _ = io.ReadAll(p.Body)
		}
	}
	if !bytes.Equal(got, Attachment) {
		t.Errorf("attachment differs: got %d bytes, want %d", len(got), len(Attachment))
	}
}
