package box

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sealgate/sealgate/internal/mimelimit"
	"github.com/sealgate/sealgate/policy"
)

// manyParts is a message with n text parts in one multipart/mixed.
func manyParts(n int) []byte {
	var b strings.Builder
	b.WriteString("From: a@clinic.example\r\nTo: b@example.org\r\nSubject: parts\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"p\"\r\n\r\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "--p\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=\"n%d.txt\"\r\n\r\nnote %d\r\n", i, i)
	}
	b.WriteString("--p--\r\n")
	return []byte(b.String())
}

// TestSixHundredPartsHandOver is the regression for a message the policy read in full
// (it allowed 1000 parts) that the portal then refused (it allowed 500).
func TestSixHundredPartsHandOver(t *testing.T) {
	msg := manyParts(600)
	eng, err := policy.New(policy.Config{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := eng.Check(context.Background(), msg, policy.Input{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range v.Reasons {
		if r.Detector == "unreadable_limit" {
			t.Fatalf("the policy did not read all 600 parts: %+v", r)
		}
	}
	c, err := Parse(msg)
	if err != nil {
		t.Fatalf("portal parse of a message the policy read in full: %v", err)
	}
	if len(c.Attachments) != 600 {
		t.Errorf("%d attachments, want 600", len(c.Attachments))
	}
}

func TestTooManyParts(t *testing.T) {
	if _, err := Parse(manyParts(mimelimit.MaxParts + 1)); !errors.Is(err, ErrTooManyParts) {
		t.Errorf("err %v, want ErrTooManyParts", err)
	}
}
