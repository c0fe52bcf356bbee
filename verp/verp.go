// Package verp gives marketing mail a return path per message and
// recipient (VERP: variable envelope return path), so that an
// asynchronous bounce, or a complaint that quotes the message, names the
// original recipient without parsing guesswork:
//
//	bounces+<token>@<bounce domain>
//
// The token is 24 bytes in lower-case base32 (39 characters, so the local
// part stays under the 64 octets of RFC 5321 §4.5.3.1.1): the queue ID (12
// bytes), the first 4 bytes of SHA-256 of the recipient address (lower
// case), and 8 bytes of HMAC-SHA256 over both under a key of the gateway's.
// Nobody without the key can make a token, so nobody can get an arbitrary
// address suppressed by sending a forged report. The token holds no
// address: what it refers to (the sending domain and the recipient) is
// remembered in the shared store under the token's reference.
package verp

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"strings"
)

// KeySize is the size of the token key in bytes.
const KeySize = 32

// ErrBadToken is returned for an address or token that does not verify.
var ErrBadToken = errors.New("verp: not a valid bounce address")

const (
	idLen   = 12 // a queue ID's bytes (24 hex digits)
	hashLen = 4
	macLen  = 8
	// TokenLen is the length of a token in characters.
	TokenLen = ((idLen+hashLen+macLen)*8 + 4) / 5
)

// macContext separates these MACs from any other use of the key.
const macContext = "sealgate verp v1\n"

var enc = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Tokens makes and checks tokens. It is safe for concurrent use.
type Tokens struct{ key []byte }

// NewTokens uses key, which must be KeySize random bytes.
func NewTokens(key []byte) (*Tokens, error) {
	if len(key) != KeySize {
		return nil, errors.New("verp: key must be 32 bytes")
	}
	return &Tokens{key: append([]byte(nil), key...)}, nil
}

// Make returns the token for recipient rcpt of the message queueID (24
// hex digits), and the reference it stands for (hex of queue ID and
// address hash), under which the recipient is remembered.
func (t *Tokens) Make(queueID, rcpt string) (token, ref string, err error) {
	id, err := hex.DecodeString(queueID)
	if err != nil || len(id) != idLen {
		return "", "", errors.New("verp: a queue ID is 24 hex digits")
	}
	h := sha256.Sum256([]byte(strings.ToLower(rcpt)))
	body := append(id, h[:hashLen]...)
	raw := append(body, t.mac(body)...)
	return enc.EncodeToString(raw), hex.EncodeToString(body), nil
}

// Open checks a token (any letter case) and returns its reference.
func (t *Tokens) Open(token string) (ref string, err error) {
	if len(token) != TokenLen {
		return "", ErrBadToken
	}
	token = strings.ToLower(token)
	raw, err := enc.DecodeString(token)
	// Only the canonical spelling: the decoder ignores the unused low
	// bits of the last character, so without this one token would have
	// several spellings.
	if err != nil || len(raw) != idLen+hashLen+macLen || enc.EncodeToString(raw) != token {
		return "", ErrBadToken
	}
	body, mac := raw[:idLen+hashLen], raw[idLen+hashLen:]
	if !hmac.Equal(mac, t.mac(body)) {
		return "", ErrBadToken
	}
	return hex.EncodeToString(body), nil
}

// QueueID returns the queue ID a reference names.
func QueueID(ref string) string {
	if len(ref) < 2*idLen {
		return ""
	}
	return ref[:2*idLen]
}

func (t *Tokens) mac(body []byte) []byte {
	h := hmac.New(sha256.New, t.key)
	h.Write([]byte(macContext))
	h.Write(body)
	return h.Sum(nil)[:macLen]
}

// Addresses are the bounce addresses of one bounce domain.
type Addresses struct {
	Tokens *Tokens
	// LocalPart is the fixed part before "+"; default "bounces".
	LocalPart string
	// Domain is the bounce domain, e.g. bounce.example-clinic.org.
	Domain string
}

func (a *Addresses) local() string {
	if a.LocalPart == "" {
		return "bounces"
	}
	return a.LocalPart
}

// Address returns the return path for rcpt of queueID, and its reference.
func (a *Addresses) Address(queueID, rcpt string) (address, ref string, err error) {
	token, ref, err := a.Tokens.Make(queueID, rcpt)
	if err != nil {
		return "", "", err
	}
	return a.local() + "+" + token + "@" + a.Domain, ref, nil
}

// Parse checks that address is one of these bounce addresses with a token
// that verifies, and returns its reference. Letter case does not matter:
// some MTAs fold the local part.
func (a *Addresses) Parse(address string) (ref string, err error) {
	at := strings.LastIndexByte(address, '@')
	if at < 0 || !strings.EqualFold(strings.TrimSuffix(address[at+1:], "."), a.Domain) {
		return "", ErrBadToken
	}
	prefix, token, ok := strings.Cut(address[:at], "+")
	if !ok || !strings.EqualFold(prefix, a.local()) {
		return "", ErrBadToken
	}
	return a.Tokens.Open(token)
}

// Find returns the reference of the first valid bounce address of this
// domain in s (a Return-Path field, or any text): how a complaint that
// quotes the original message's header is traced to its recipient.
func (a *Addresses) Find(s string) (ref string, ok bool) {
	lower := strings.ToLower(s)
	needle := strings.ToLower(a.local()) + "+"
	for off := 0; ; {
		i := strings.Index(lower[off:], needle)
		if i < 0 {
			return "", false
		}
		start := off + i
		end := start + len(needle) + TokenLen + 1 + len(a.Domain)
		if end <= len(lower) {
			if ref, err := a.Parse(lower[start:end]); err == nil {
				return ref, true
			}
		}
		off = start + len(needle)
	}
}
