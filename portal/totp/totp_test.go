package totp

import (
	"strings"
	"testing"
	"time"
)

// RFC 6238 Appendix B, SHA-1 rows (8 digits).
func TestRFC6238Vectors(t *testing.T) {
	secret := []byte("12345678901234567890")
	for _, tc := range []struct {
		unix int64
		want string
	}{
		{59, "94287082"}, {1111111109, "07081804"}, {1111111111, "14050471"},
		{1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"},
	} {
		if got := Code(secret, Step(time.Unix(tc.unix, 0)), 8); got != tc.want {
			t.Errorf("T=%d: %s, want %s", tc.unix, got, tc.want)
		}
	}
}

func TestVerifyWindow(t *testing.T) {
	secret := NewSecret()
	now := time.Unix(1_800_000_000, 0)
	code := Code(secret, Step(now), Digits)
	if step, ok := Verify(secret, code, now.Add(Period)); !ok || step != Step(now) {
		t.Fatal("code from the previous step refused")
	}
	if _, ok := Verify(secret, code, now.Add(3*Period)); ok {
		t.Fatal("old code accepted")
	}
	if _, ok := Verify(secret, "12345", now); ok {
		t.Fatal("short code accepted")
	}
	u := URI(secret, "Example Clinic", "pat@home.example")
	if !strings.HasPrefix(u, "otpauth://totp/Example%20Clinic:pat@home.example?") || !strings.Contains(u, "secret="+Encode(secret)) {
		t.Fatalf("uri %s", u)
	}
}
