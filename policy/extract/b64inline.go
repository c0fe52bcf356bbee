package extract

import (
	"bytes"
	"encoding/base64"
	"errors"
)

// A file pasted into a text body as base64 (the output of a script's base64 or
// btoa, which the recipient decodes) is found by its length, which no word, URL or
// ordinary token reaches:
//   - b64BlockLines or more consecutive lines of at least b64LineMin characters of the
//     code and nothing else (the shape of base64 wrapped at 64 or 76 as every tool
//     writes it; 4 such lines are at least 180 bytes, a few patient rows); or
//   - one run of at least b64RunMin characters of the code (192 bytes) anywhere, as an
//     unwrapped blob pasted in a sentence. A DKIM RSA-1024 signature (172 characters),
//     a session token or a long URL (broken by ':', '.', '-', '?') is shorter.
//
// Lines inside PGP armor ("-----BEGIN PGP" ... "-----END PGP") are skipped: they are
// encrypted or a signature or key already.
const (
	b64LineMin    = 60
	b64BlockLines = 4
	b64RunMin     = 256
)

// b64Alphabet marks the characters of the base64 code, padding included.
var b64Alphabet = func() (t [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") {
		t[c] = true
	}
	return t
}()

// Base64Blob is a run of base64 found inside a text: its decoded bytes, or why it does
// not decode.
type Base64Blob struct {
	Data []byte
	Err  error
}

// Base64Blobs finds the files pasted as base64 inside text (see b64LineMin above) and
// decodes them, at most limit bytes in all; a blob past it is ErrTooLarge, a blob that
// does not decode is ErrBase64. The search probes one byte in every b64LineMin and
// looks closer only where a probe lands in a long run of the code, so ordinary prose
// costs a few percent of a full pass.
func Base64Blobs(text []byte, limit int64) []Base64Blob {
	var armor [][2]int // found when the first long run is, to keep prose at memchr speed
	armorFound := false
	var blobs []Base64Blob
	for i := b64LineMin - 1; i < len(text); {
		if !b64Alphabet[text[i]] {
			i += b64LineMin
			continue
		}
		s, e := i, i+1
		for s > 0 && b64Alphabet[text[s-1]] {
			s--
		}
		for e < len(text) && b64Alphabet[text[e]] {
			e++
		}
		if e-s >= b64LineMin && !armorFound {
			armor, armorFound = pgpArmor(text), true
		}
		if e-s < b64LineMin || inRanges(armor, s) {
			i = e + b64LineMin
			continue
		}
		code, end := b64Block(text, s, e)
		i = end + b64LineMin
		if code == nil {
			continue
		}
		b := Base64Blob{}
		b.Data, b.Err = b64Decode(code, limit)
		limit -= int64(len(b.Data))
		blobs = append(blobs, b)
	}
	return blobs
}

// ErrBase64 reports a run of base64 in a text that does not decode.
var ErrBase64 = errors.New("extract: base64 in text does not decode")

// b64Block returns the code of the blob around the run text[s:e] and the offset its
// search should continue from, or nil when the run is neither a block of whole lines
// nor long enough on its own.
func b64Block(text []byte, s, e int) ([]byte, int) {
	ls, le := lineAround(text, s)
	if ls != s || le != e {
		if e-s >= b64RunMin {
			return text[s:e], e
		}
		return nil, e
	}
	// A whole line of the code: gather the lines of the same width around it (the
	// wrapped code), then a last shorter line if it ends the code (padding, or a length
	// base64 can have): "Thanks" under the code is not code.
	w := e - s
	first := ls
	for first > 0 {
		ps, pe := lineAround(text, first-1)
		if pe-ps != w || !codeLine(text[ps:pe]) {
			break
		}
		first = ps
	}
	var code []byte
	lines, pos := 0, first
	for pos < len(text) {
		ls, le := lineAround(text, pos)
		line := text[ls:le]
		if len(line) > w || !codeLine(line) {
			break
		}
		if len(line) < w && !bytes.HasSuffix(line, []byte("=")) && (len(code)+len(line))%4 != 0 {
			break
		}
		code = append(code, line...)
		pos = nextLineStart(text, le)
		if len(line) < w {
			break
		}
		lines++
	}
	if lines < b64BlockLines && w < b64RunMin {
		return nil, pos
	}
	return code, pos
}

// lineAround returns the bounds of the line holding text[k], without its line break.
func lineAround(text []byte, k int) (int, int) {
	s := bytes.LastIndexByte(text[:k], '\n') + 1
	e := k + bytes.IndexByte(text[k:], '\n')
	if e < k {
		e = len(text)
	}
	if e > s && text[e-1] == '\r' {
		e--
	}
	return s, e
}

func nextLineStart(text []byte, le int) int {
	k := bytes.IndexByte(text[le:], '\n')
	if k < 0 {
		return len(text)
	}
	return le + k + 1
}

func codeLine(line []byte) bool {
	if len(line) == 0 {
		return false
	}
	for _, c := range line {
		if !b64Alphabet[c] {
			return false
		}
	}
	return true
}

// b64Decode decodes code with or without its padding; padding anywhere but at the end
// does not decode.
func b64Decode(code []byte, limit int64) ([]byte, error) {
	code = bytes.TrimRight(code, "=")
	if int64(base64.RawStdEncoding.DecodedLen(len(code))) > limit {
		return nil, ErrTooLarge
	}
	out := make([]byte, base64.RawStdEncoding.DecodedLen(len(code)))
	n, err := base64.RawStdEncoding.Decode(out, code)
	if err != nil {
		return nil, ErrBase64
	}
	return out[:n], nil
}

// pgpArmor returns the byte ranges of the PGP armor blocks in text.
func pgpArmor(text []byte) [][2]int {
	var rs [][2]int
	for off := 0; ; {
		k := bytes.Index(text[off:], []byte("-----BEGIN PGP"))
		if k < 0 {
			return rs
		}
		s := off + k
		e := bytes.Index(text[s:], []byte("-----END PGP"))
		if e < 0 {
			return append(rs, [2]int{s, len(text)})
		}
		rs = append(rs, [2]int{s, s + e})
		off = s + e + 1
	}
}

func inRanges(rs [][2]int, k int) bool {
	for _, r := range rs {
		if k >= r[0] && k < r[1] {
			return true
		}
	}
	return false
}

// BinHex reports whether text holds a file in BinHex 4.0 (the Macintosh encoding,
// "(This file must be converted with BinHex 4.0)" and the lines of the code). No
// library here reads it, so a text holding one is unreadable.
func BinHex(text []byte) bool {
	// Looked for by its capital B, rare in prose, so the search runs at memchr speed.
	const head = "(This file must be converted with "
	for off := 0; ; {
		k := bytes.Index(text[off:], []byte("BinHex"))
		if k < 0 {
			return false
		}
		if off+k >= len(head) && string(text[off+k-len(head):off+k]) == head {
			return true
		}
		off += k + 1
	}
}
