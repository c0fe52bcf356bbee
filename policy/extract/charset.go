package extract

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
)

// ErrCharset reports text in a charset that cannot be decoded: unknown, unsupported
// (UTF-7 among them) or disabled.
var ErrCharset = errors.New("extract: undecodable charset")

// DecodeCharset decodes data from the named charset to UTF-8, reading at most limit
// bytes of output. UTF-8, US-ASCII and an empty name return data as it is. An unknown
// or unsupported name returns ErrCharset whatever the bytes look like: a part whose
// charset cannot be decoded cannot be cleared.
func DecodeCharset(name string, data []byte, limit int64) ([]byte, error) {
	n := strings.ToLower(strings.Trim(strings.TrimSpace(name), `"'`))
	switch n {
	case "", "utf-8", "utf8", "us-ascii", "ascii":
		return data, nil
	case "utf-7", "unicode-1-1-utf-7", "csunicode11utf7", "x-unknown", "unknown-8bit", "x-user-defined":
		return nil, ErrCharset
	}
	r, err := charset.Reader(n, bytes.NewReader(data))
	if err != nil || r == nil {
		return nil, ErrCharset
	}
	out, err := io.ReadAll(io.LimitReader(r, limit+1))
	if int64(len(out)) > limit {
		return out[:limit], ErrTooLarge
	}
	if err != nil || NarrowAsWide(n, out) {
		return out, ErrCharset
	}
	return out, nil
}

// NarrowAsWide reports whether text decoded from a 16- or 32-bit charset (UTF-16,
// UTF-32, UCS-2, "unicode") holds no character of the ASCII range at all: no space,
// line break, digit or punctuation. Eight-bit text declared so decodes, two or four bytes
// to a character, into such noise; real text in any script breaks its lines.
func NarrowAsWide(charset string, decoded []byte) bool {
	n := strings.ToLower(strings.Trim(strings.TrimSpace(charset), `"'`))
	if !strings.HasPrefix(n, "utf-16") && !strings.HasPrefix(n, "utf-32") && !strings.HasPrefix(n, "ucs-") && n != "unicode" && n != "utf16" && n != "utf32" {
		return false
	}
	sample := decoded[:min(len(decoded), 4096)]
	if utf8.RuneCount(sample) < 8 {
		return false
	}
	for _, c := range sample {
		if c < 0x80 {
			return false
		}
	}
	return true
}

// decodeUnicode returns text in UTF-32 or UTF-16 as UTF-8: by its byte order mark, or,
// for UTF-16 without one (Excel's "Unicode text" is often saved so), when NUL bytes
// fill one of the two byte positions. A UTF-8 byte order mark is dropped. It reports
// whether it changed anything.
func decodeUnicode(data []byte) ([]byte, bool) {
	switch {
	case bytes.HasPrefix(data, []byte("\xef\xbb\xbf")):
		return data[3:], true
	case bytes.HasPrefix(data, []byte("\xff\xfe\x00\x00")):
		return utf32Text(data[4:], binary.LittleEndian), true
	case bytes.HasPrefix(data, []byte("\x00\x00\xfe\xff")):
		return utf32Text(data[4:], binary.BigEndian), true
	case bytes.HasPrefix(data, []byte("\xff\xfe")):
		return utf16Text(data[2:], binary.LittleEndian), true
	case bytes.HasPrefix(data, []byte("\xfe\xff")):
		return utf16Text(data[2:], binary.BigEndian), true
	}
	if order := utf32Order(data); order != nil {
		return utf32Text(data, order), true
	}
	if order := utf16Order(data); order != nil {
		return utf16Text(data, order), true
	}
	return data, false
}

// utf32Order guesses the byte order of UTF-32 text without a byte order mark: in text
// of the Basic Multilingual Plane the two high bytes of each unit are NUL and the low
// one is not. Nil means it does not look so.
func utf32Order(data []byte) binary.ByteOrder {
	n := min(len(data), 4096) / 4
	if n < 4 {
		return nil
	}
	le, be := 0, 0
	for i := 0; i < n; i++ {
		q := data[4*i : 4*i+4]
		if q[2] == 0 && q[3] == 0 && q[0] != 0 {
			le++
		}
		if q[0] == 0 && q[1] == 0 && q[3] != 0 {
			be++
		}
	}
	switch {
	case le*10 >= n*9:
		return binary.LittleEndian
	case be*10 >= n*9:
		return binary.BigEndian
	}
	return nil
}

// utf16Order guesses the byte order of UTF-16 text without a byte order mark: in
// mostly-Latin text one byte of each pair is NUL. Nil means it does not look so.
func utf16Order(data []byte) binary.ByteOrder {
	n := min(len(data), 4096) / 2
	if n < 4 || bytes.IndexByte(data[:2*n], 0) < 0 {
		return nil // no NUL byte: neither order can hold
	}
	even, odd := 0, 0
	for i := 0; i < n; i++ {
		if data[2*i] == 0 {
			even++
		}
		if data[2*i+1] == 0 {
			odd++
		}
	}
	switch {
	case odd*10 >= n*4 && even*20 <= n:
		return binary.LittleEndian
	case even*10 >= n*4 && odd*20 <= n:
		return binary.BigEndian
	}
	return nil
}

func utf16Text(data []byte, order binary.ByteOrder) []byte {
	units := make([]uint16, len(data)/2)
	for i := range units {
		units[i] = order.Uint16(data[2*i:])
	}
	return []byte(string(utf16.Decode(units)))
}

func utf32Text(data []byte, order binary.ByteOrder) []byte {
	out := make([]byte, 0, len(data)/4)
	for i := 0; i+4 <= len(data); i += 4 {
		r := rune(order.Uint32(data[i:]))
		if !utf8.ValidRune(r) {
			r = utf8.RuneError
		}
		out = utf8.AppendRune(out, r)
	}
	return out
}

// cp1252 maps Windows-1252 bytes 0x80-0x9F; the rest of the upper half is Latin-1.
var cp1252 = [32]rune{
	'€', 0x81, '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', 0x8d, 'Ž', 0x8f,
	0x90, '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', 0x9d, 'ž', 'Ÿ',
}

// windows1252 decodes Windows-1252 (and so Latin-1) bytes to UTF-8, as mail clients
// show 8-bit text whose charset was not declared.
func windows1252(data []byte) []byte {
	out := make([]byte, 0, len(data)+len(data)/8)
	for _, c := range data {
		switch {
		case c < 0x80:
			out = append(out, c)
		case c < 0xa0:
			out = utf8.AppendRune(out, cp1252[c-0x80])
		default:
			out = utf8.AppendRune(out, rune(c))
		}
	}
	return out
}

// textLike reports whether data reads as text once decoded: valid UTF-8, or 8-bit text
// in the Windows-1252 sense, with few control characters.
func textLike(data []byte) bool {
	if looksLikeText(data) {
		return true
	}
	sample := data[:min(len(data), 4096)]
	return len(sample) > 0 && fewControls(sample)
}

// fewControls reports whether under 2% of sample are control bytes other than white
// space; NUL never occurs in text.
func fewControls(sample []byte) bool {
	ctrl := 0
	for _, c := range sample {
		if c == 0 {
			return false
		}
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\f' {
			ctrl++
		}
	}
	return ctrl*50 < len(sample)
}

// misdecoded reports whether text that is not valid UTF-8 is mostly bytes of the upper
// half: text in another script or an 8-bit code such as EBCDIC, whose charset was
// declared wrongly or not at all. Read as Windows-1252 it is noise, so it is not read as
// a mail client would show it. A few accented letters in Latin text, the common slip,
// are far below the share.
func misdecoded(data []byte) bool {
	sample := data[:min(len(data), 4096)]
	for k := 0; k < 3 && len(sample) < len(data) && !utf8.Valid(sample); k++ {
		sample = sample[:len(sample)-1] // a rune cut at the sample's end
	}
	if len(sample) == 0 || utf8.Valid(sample) {
		return false
	}
	high := 0
	for _, c := range sample {
		if c >= 0x80 {
			high++
		}
	}
	return high*10 > len(sample)*3
}

// asUTF8 returns text as UTF-8: unchanged when valid, else read as Windows-1252.
func asUTF8(data []byte) []byte {
	if utf8.Valid(data) {
		return data
	}
	return windows1252(data)
}
