// Package totp implements time-based one-time passwords (RFC 6238) with
// the parameters every authenticator app supports: HMAC-SHA1, 30-second
// steps, 6 digits.
package totp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Parameters (RFC 6238 §4 defaults, as authenticator apps expect).
const (
	Period = 30 * time.Second
	Digits = 6
	// Skew is how many steps before and after now are accepted, for clocks
	// that are a little off.
	Skew = 1
)

// NewSecret returns a fresh 160-bit secret (RFC 4226 §4 recommends 160).
func NewSecret() []byte {
	b := make([]byte, 20)
	rand.Read(b)
	return b
}

// Encode is the base32 form people type into an authenticator app.
func Encode(secret []byte) string {
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret)
}

// URI is the otpauth:// provisioning URI for an app.
func URI(secret []byte, issuer, account string) string {
	v := url.Values{"secret": {Encode(secret)}, "issuer": {issuer}, "algorithm": {"SHA1"},
		"digits": {fmt.Sprint(Digits)}, "period": {fmt.Sprint(int(Period.Seconds()))}}
	label := url.PathEscape(issuer + ":" + account)
	return "otpauth://totp/" + label + "?" + v.Encode()
}

// Step is the time step t falls in.
func Step(t time.Time) int64 { return t.Unix() / int64(Period.Seconds()) }

// Code is the code for a time step (RFC 4226 §5.3 dynamic truncation).
func Code(secret []byte, step int64, digits int) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(step))
	mac := hmac.New(sha1.New, secret)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint32(1)
	for i := 0; i < digits; i++ {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, bin%mod)
}

// Verify checks code against the steps around t and returns the matching
// step, which the caller must record so the code cannot be used again.
func Verify(secret []byte, code string, t time.Time) (step int64, ok bool) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != Digits {
		return 0, false
	}
	now := Step(t)
	for s := now - Skew; s <= now+Skew; s++ {
		if subtle.ConstantTimeCompare([]byte(Code(secret, s, Digits)), []byte(code)) == 1 {
			return s, true
		}
	}
	return 0, false
}
