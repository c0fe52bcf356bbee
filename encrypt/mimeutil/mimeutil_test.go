package mimeutil

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

const sample = "Received: from ehr.internal\r\n" +
	"From: Clinic <doctor@example-clinic.org>\r\n" +
	"To: patient@example.net\r\n" +
	"Bcc: hidden@example.net\r\n" +
	"Subject: Your biopsy results\r\n" +
	"Date: Mon, 2 Nov 2026 10:00:00 +0000\r\n" +
	"Message-ID: <1@example-clinic.org>\r\n" +
	"X-Patient-Id: 12345\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: text/plain;\r\n charset=utf-8\r\n" +
	"Content-Transfer-Encoding: 8bit\r\n" +
	"\r\n" +
	"Results attached.\r\n"

func headerOf(t *testing.T, b []byte) string {
	t.Helper()
	i := bytes.Index(b, []byte("\r\n\r\n"))
	if i < 0 {
		t.Fatalf("no header/body separator in %q", b)
	}
	return string(b[:i+2])
}

func TestProtectOuterIsNeutral(t *testing.T) {
	p, err := Protect([]byte(sample), "")
	if err != nil {
		t.Fatal(err)
	}
	out := p.Message([]string{"Content-Type: application/octet-stream"}, []byte("x\r\n"))
	h := headerOf(t, out)
	for _, want := range []string{"From: Clinic <doctor@example-clinic.org>\r\n", "To: patient@example.net\r\n",
		"Date: ", "Message-ID: <1@example-clinic.org>\r\n", "Subject: Secure message\r\n", "MIME-Version: 1.0\r\n",
		"Content-Type: application/octet-stream\r\n"} {
		if !strings.Contains(h, want) {
			t.Errorf("outer header lacks %q:\n%s", want, h)
		}
	}
	for _, bad := range []string{"biopsy", "Bcc", "X-Patient-Id", "Received", "8bit", "charset"} {
		if strings.Contains(h, bad) {
			t.Errorf("outer header leaks %q:\n%s", bad, h)
		}
	}
	if strings.Count(h, "MIME-Version") != 1 {
		t.Errorf("MIME-Version not exactly once:\n%s", h)
	}
}

func TestProtectInnerCarriesHeaders(t *testing.T) {
	p, err := Protect([]byte(sample), "Secure")
	if err != nil {
		t.Fatal(err)
	}
	h := headerOf(t, p.Inner)
	for _, want := range []string{"Subject: Your biopsy results\r\n", "From: Clinic", "To: patient@example.net",
		"Message-ID: <1@example-clinic.org>", `protected-headers="v1"`, "charset=utf-8", "Content-Transfer-Encoding: 8bit\r\n"} {
		if !strings.Contains(h, want) {
			t.Errorf("inner header lacks %q:\n%s", want, h)
		}
	}
	for _, bad := range []string{"Bcc", "Received", "X-Patient-Id"} {
		if strings.Contains(h, bad) {
			t.Errorf("inner header has %q:\n%s", bad, h)
		}
	}
	if !bytes.HasSuffix(p.Inner, []byte("\r\n\r\nResults attached.\r\n")) {
		t.Errorf("inner body changed: %q", p.Inner)
	}
}

func TestProtectDefaultsAndLF(t *testing.T) {
	msg := "From: a@example.org\nSubject: hi\n\nline1\nline2\n"
	p, err := Protect([]byte(msg), "Nachricht für Sie")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(p.Inner), "Content-Type: text/plain; charset=us-ascii; protected-headers=\"v1\"\r\n") {
		t.Errorf("default content type missing: %q", p.Inner)
	}
	if !bytes.HasSuffix(p.Inner, []byte("\r\n\r\nline1\r\nline2\r\n")) {
		t.Errorf("body not CRLF: %q", p.Inner)
	}
	out := string(p.Message(nil, nil))
	if !strings.Contains(out, "Subject: =?utf-8?q?Nachricht_f=C3=BCr_Sie?=\r\n") {
		t.Errorf("subject not encoded: %q", out)
	}
}

func TestProtectHeaderOnly(t *testing.T) {
	p, err := Protect([]byte("From: a@example.org\r\nSubject: s"), "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(p.Inner), "Subject: s\r\n") || !bytes.HasSuffix(p.Inner, []byte("\r\n\r\n")) {
		t.Errorf("unexpected inner: %q", p.Inner)
	}
}

func TestProtectErrorsCarryNoContent(t *testing.T) {
	_, err := Protect([]byte("From: a@example.org\r\nSecret Diagnosis Line\r\n\r\nbody"), "")
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("err = %v, want ErrMalformed", err)
	}
	if strings.Contains(err.Error(), "Diagnosis") {
		t.Errorf("error leaks content: %v", err)
	}
	if _, err := Protect([]byte("From: a@example.org\r\nTo: b@example.org\rSubject: Diagnosis\r\n\r\nx"), ""); !errors.Is(err, ErrMalformed) {
		t.Errorf("bare CR in header: err = %v, want ErrMalformed", err)
	}
	if _, err := Protect([]byte(sample), "a\r\nBcc: x"); !errors.Is(err, ErrBadSubject) {
		t.Errorf("subject injection: err = %v", err)
	}
}

func TestBoundaryUnique(t *testing.T) {
	a, _ := Boundary()
	b, err := Boundary()
	if err != nil || a == b || len(a) < 30 {
		t.Errorf("boundaries %q %q err %v", a, b, err)
	}
}

func TestNormalizeAddr(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Alice@Example.ORG", "Alice@example.org"},
		{" bob@example.org ", "bob@example.org"},
		{"no-at-sign", ""},
		{"@example.org", ""},
		{"a@", ""},
		{"<a@example.org>", ""},
		{"a b@example.org", ""},
	}
	for _, tc := range tests {
		got, ok := NormalizeAddr(tc.in)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("NormalizeAddr(%q) = %q, %v; want %q", tc.in, got, ok, tc.want)
		}
	}
}

func FuzzProtect(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte("From: a@example.org\nSubject: x\n\nbody"))
	f.Add([]byte("Subject: only\r\n"))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=\"\r\n\r\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		p, err := Protect(msg, "")
		if err != nil {
			return
		}
		out := p.Message([]string{"Content-Type: application/octet-stream"}, nil)
		h := headerOf(t, out)
		if strings.Count(strings.ToLower(h), "\nsubject:")+strings.Count(strings.ToLower(h[:min(len(h), 8)]), "subject:") != 1 {
			t.Fatalf("outer header must have exactly one Subject:\n%q", h)
		}
		if !strings.Contains(h, "\r\nSubject: Secure message\r\n") && !strings.HasPrefix(h, "Subject: Secure message\r\n") {
			t.Fatalf("outer Subject not neutral:\n%q", h)
		}
	})
}
