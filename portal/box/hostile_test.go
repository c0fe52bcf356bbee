package box

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sealgate/sealgate/internal/hostile"
	"github.com/sealgate/sealgate/internal/mimelimit"
	"github.com/sealgate/sealgate/policy"
)

// TestHostileHeaders runs the shared table of hostile headers through the
// portal's parser: each is refused with ErrMalformed, which quotes nothing
// of the message.
func TestHostileHeaders(t *testing.T) {
	for _, c := range hostile.Headers() {
		_, err := Parse(c.Msg)
		if !errors.Is(err, ErrMalformed) || strings.Contains(err.Error(), "Harriet") {
			t.Errorf("%s: Parse = %v; want ErrMalformed", c.Name, err)
		}
	}
}

// TestHostileParts runs the shared table of hostile part headers through
// the portal's parser: the top-level header reads, yet each message is
// refused with ErrMalformed, which quotes nothing of the message, and no
// part that does not read reaches the content.
func TestHostileParts(t *testing.T) {
	for _, c := range hostile.Parts() {
		content, err := Parse(c.Msg)
		if !errors.Is(err, ErrMalformed) || strings.Contains(err.Error(), "Harriet") {
			t.Errorf("%s: Parse = %v; want ErrMalformed", c.Name, err)
		}
		if strings.Contains(content.Text, "Harriet") {
			t.Errorf("%s: the health information was read as the body", c.Name)
		}
	}
}

// TestNestingWithinTheLimit: parts nested as deep as the shared limit
// (mimelimit.MaxDepth) are read; one level more is refused.
func TestNestingWithinTheLimit(t *testing.T) {
	msg := func(depth int) []byte {
		var b strings.Builder
		b.WriteString("From: a@clinic.example\r\nSubject: deep\r\nMIME-Version: 1.0\r\n")
		for i := range depth {
			fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"n%d\"\r\n\r\n--n%d\r\n", i, i)
		}
		b.WriteString("Content-Type: text/plain\r\n\r\nnote\r\n")
		for i := depth - 1; i >= 0; i-- {
			fmt.Fprintf(&b, "--n%d--\r\n", i)
		}
		return []byte(b.String())
	}
	c, err := Parse(msg(mimelimit.MaxDepth))
	if err != nil || c.Text != "note" {
		t.Fatalf("at the limit: %q, %v", c.Text, err)
	}
	eng, err := policy.New(policy.Config{})
	if err != nil {
		t.Fatal(err)
	}
	// What the portal reads, the policy reads too: nothing past its limits.
	if v, err := eng.Check(context.Background(), msg(mimelimit.MaxDepth), policy.Input{}); err != nil || v.Unreadable {
		t.Fatalf("the policy at the limit: %+v, %v", v, err)
	}
	if _, err := Parse(msg(mimelimit.MaxDepth + 1)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("past the limit: %v", err)
	}
}
