package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckExplainShowsValuesOnlyWhenAsked(t *testing.T) {
	t.Parallel()
	msg := "From: Registration <reg@clinic.example>\r\nTo: Ines Marlowe <im@home.example>\r\n" +
		"Subject: Registration\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n" +
		"--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPatient: Ines Marlowe\r\nSSN 692-55-2407\r\n" +
		"Diagnosis: type 2 diabetes\r\n--B\r\nContent-Type: application/ms-tnef; name=\"winmail.dat\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\neJ8+IgAAAQaQCAAEAAAAAAABAAEAAQeQBgAIAAAA5AQAAAAAAADoAAEIgAcAGAAAAElQTS5NaWNyb3NvZnQgTWFpbC5Ob3RlADEI\r\n--B--\r\n"
	path := filepath.Join(t.TempDir(), "m.eml")
	if err := os.WriteFile(path, []byte(msg), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI("check", "--explain", path)
	if code != 0 {
		t.Fatalf("check --explain: rc %d, %s", code, errs)
	}
	for _, want := range []string{"verdict: phi=true", "UNREADABLE", "us_ssn", "what moved the score"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "692-55") || strings.Contains(out, "diabetes") {
		t.Errorf("output carries a matched value without --show-values:\n%s", out)
	}
	code, out, errs = runCLI("check", "--explain", "--show-values", path)
	if code != 0 || !strings.Contains(out, `"692`) {
		t.Errorf("check --explain --show-values: rc %d, %s, output lacks the SSN:\n%s", code, errs, out)
	}
	if code, _, _ := runCLI("check", "--show-values", path); code == 0 {
		t.Error("--show-values without --explain was accepted")
	}
}
