// Package unsubscribe gives marketing mail one-click unsubscribe (RFC
// 8058): List-Unsubscribe and List-Unsubscribe-Post header fields, added
// per recipient before DKIM signing, whose HTTPS URL carries a token that
// names the sending domain and the recipient and is authenticated with a
// key of the gateway's, so nobody can make one for another address.
package unsubscribe

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
)

// KeySize is the size of the token key in bytes.
const KeySize = 32

// ErrBadToken is returned for a token that does not verify.
var ErrBadToken = errors.New("unsubscribe: token does not verify")

// macContext separates these MACs from any other use of the key.
const macContext = "sealgate one-click unsubscribe v1\n"

// Tokens makes and checks tokens. It is safe for concurrent use.
type Tokens struct{ key []byte }

// NewTokens uses key, which must be KeySize random bytes.
func NewTokens(key []byte) (*Tokens, error) {
	if len(key) != KeySize {
		return nil, errors.New("unsubscribe: key must be 32 bytes")
	}
	return &Tokens{key: append([]byte(nil), key...)}, nil
}

// Make returns the token for address at sending domain: the two, lower
// case, and an HMAC-SHA256 over them, base64url without padding.
func (t *Tokens) Make(domain, address string) string {
	payload := strings.ToLower(domain) + "\n" + strings.ToLower(address)
	return base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." +
		base64.RawURLEncoding.EncodeToString(t.mac(payload))
}

// Open checks a token and returns the domain and address it names.
func (t *Tokens) Open(token string) (domain, address string, err error) {
	p, m, ok := strings.Cut(token, ".")
	if !ok || len(token) > 2048 {
		return "", "", ErrBadToken
	}
	payload, err1 := base64.RawURLEncoding.DecodeString(p)
	mac, err2 := base64.RawURLEncoding.DecodeString(m)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, t.mac(string(payload))) {
		return "", "", ErrBadToken
	}
	domain, address, ok = strings.Cut(string(payload), "\n")
	// Only the canonical form is accepted: the base64 decoder skips line
	// breaks, so without this one link would have many spellings.
	if !ok || domain == "" || !strings.Contains(address, "@") || t.Make(domain, address) != token {
		return "", "", ErrBadToken
	}
	return domain, address, nil
}

func (t *Tokens) mac(payload string) []byte {
	h := hmac.New(sha256.New, t.key)
	h.Write([]byte(macContext + payload))
	return h.Sum(nil)
}
