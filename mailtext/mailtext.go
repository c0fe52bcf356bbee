// Package mailtext holds what every part of sealgate that reads or writes a
// message's text must agree on, starting with its line endings. It is a
// leaf: it imports no other package of sealgate.
package mailtext

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
)

// ToCRLF returns b with every bare LF turned into CRLF (a CR already
// before an LF is kept, a lone CR is left alone). It returns b itself when
// there is nothing to change.
func ToCRLF(b []byte) []byte {
	bare := 0
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			bare++
		}
	}
	if bare == 0 {
		return b
	}
	out := make([]byte, 0, len(b)+bare)
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}

// MessageID returns a fresh Message-ID for a message sealgate writes at
// host: 128 random bits in hex, in angle brackets (RFC 5322 §3.6.4).
func MessageID(host string) string {
	return "<" + randomHex(16) + "@" + host + ">"
}

// Boundary returns a fresh MIME multipart boundary (RFC 2046 §5.1.1): a
// fixed prefix and 128 random bits in hex, 41 characters in all, so it
// cannot occur in a body sealgate did not write with it.
func Boundary() string {
	return "sealgate-" + randomHex(16)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // crypto/rand never fails; it aborts the program instead
	return hex.EncodeToString(b)
}

// SplitHeader splits a CRLF message at the empty line that ends its header
// section (RFC 5322 §2.1). head keeps that empty line: it is "\r\n" for a
// message with no header fields, and otherwise ends with "\r\n\r\n". When
// the message has no empty line, all of it is header: head is msg, body is
// nil and ok is false.
func SplitHeader(msg []byte) (head, body []byte, ok bool) {
	if bytes.HasPrefix(msg, []byte("\r\n")) {
		return msg[:2], msg[2:], true
	}
	if i := bytes.Index(msg, []byte("\r\n\r\n")); i >= 0 {
		return msg[:i+4], msg[i+4:], true
	}
	return msg, nil, false
}
