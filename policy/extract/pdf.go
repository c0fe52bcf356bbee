package extract

import (
	"bytes"
	"compress/zlib"
	"errors"
	"io"
)

// PDF errors. Both mean the document cannot be cleared.
var (
	ErrPDFEncrypted = errors.New("extract: encrypted pdf")
	ErrPDFNoText    = errors.New("extract: pdf without a readable text layer")
	ErrTooLarge     = errors.New("extract: decompressed size limit")
)

// PDF returns the text layer of a PDF: strings shown by Tj, TJ, ' and " in page content
// streams, plain or FlateDecode-compressed. Each stream is inflated up to maxStream
// bytes, all of them up to maxTotal. An encrypted document returns ErrPDFEncrypted; a
// document with no text found returns ErrPDFNoText (a scan cannot be cleared).
func PDF(src []byte, maxStream, maxTotal int64) ([]byte, error) {
	if bytes.Contains(src, []byte("/Encrypt")) {
		return nil, ErrPDFEncrypted
	}
	var out []byte
	total := int64(0)
	rest := src
	for {
		k := bytes.Index(rest, []byte("stream"))
		if k < 0 {
			break
		}
		if k >= 3 && string(rest[k-3:k]) == "end" {
			rest = rest[k+6:]
			continue
		}
		dict := rest[max(0, k-2048):k]
		if o := bytes.LastIndex(dict, []byte(" obj")); o >= 0 {
			dict = dict[o:] // this stream's own dictionary, not an earlier object's
		}
		body := rest[k+6:]
		body = bytes.TrimLeft(body, "\r\n")
		e := bytes.Index(body, []byte("endstream"))
		if e < 0 {
			e = len(body)
		}
		data, rest0 := body[:e], body[e:]
		rest = rest0
		content, err := streamData(dict, data, maxStream)
		if err != nil {
			return out, err
		}
		total += int64(len(content))
		if total > maxTotal {
			return out, ErrTooLarge
		}
		if bytes.Contains(content, []byte("Tj")) || bytes.Contains(content, []byte("TJ")) {
			out = pdfText(content, out)
		}
	}
	if len(bytes.TrimSpace(out)) == 0 || !mostlyText(out) {
		return nil, ErrPDFNoText // a scan, or glyph codes of an embedded font: not readable
	}
	return out, nil
}

// mostlyText reports whether extracted strings read as text: mostly letters, digits,
// spaces and common punctuation, as opposed to the two-byte glyph codes of CID fonts.
func mostlyText(b []byte) bool {
	good := 0
	for _, c := range b {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == ' ' || c == '\n' ||
			c == '.' || c == ',' || c == ':' || c == '-' || c == '/' || c >= 0x80 {
			good++
		}
	}
	return good*10 >= len(b)*8
}

// streamData returns a stream's decoded bytes, or nil for filters other than Flate.
func streamData(dict, data []byte, limit int64) ([]byte, error) {
	filt := bytes.LastIndex(dict, []byte("/Filter"))
	if filt < 0 {
		return data, nil
	}
	f := dict[filt:]
	if !bytes.Contains(f, []byte("/FlateDecode")) && !bytes.Contains(f, []byte("/Fl ")) {
		return nil, nil
	}
	zr, err := zlib.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, nil
	}
	defer zr.Close()
	b, err := io.ReadAll(io.LimitReader(zr, limit+1))
	if int64(len(b)) > limit {
		return nil, ErrTooLarge
	}
	_ = err // a truncated stream still yields its text
	return b, nil
}

// pdfText appends the strings of the text-showing operators in a content stream.
func pdfText(c []byte, out []byte) []byte {
	for i := 0; i < len(c); i++ {
		switch c[i] {
		case '(':
			i = pdfLiteral(c, i+1, &out)
		case '<':
			if i+1 < len(c) && c[i+1] != '<' {
				i = pdfHex(c, i+1, &out)
			} else {
				i++
			}
		case '-':
			if n := pdfNumberAt(c, i); n > 200 {
				out = append(out, ' ')
			}
		case 'T':
			if i+1 < len(c) && (c[i+1] == '*' || c[i+1] == 'd' || c[i+1] == 'D' || c[i+1] == 'm') {
				out = append(out, '\n')
			}
		case '\'', '"':
			out = append(out, '\n')
		case 'E':
			if i+1 < len(c) && c[i+1] == 'T' {
				out = append(out, '\n')
			}
		}
	}
	return out
}

// pdfNumberAt reads the magnitude of a negative number at c[i] == '-'.
func pdfNumberAt(c []byte, i int) int {
	n := 0
	for j := i + 1; j < len(c) && j < i+8 && c[j] >= '0' && c[j] <= '9'; j++ {
		n = n*10 + int(c[j]-'0')
	}
	return n
}

// pdfLiteral decodes a literal string starting after '(' and returns the index of its
// closing ')'.
func pdfLiteral(c []byte, i int, out *[]byte) int {
	depth := 1
	for ; i < len(c); i++ {
		b := c[i]
		switch b {
		case '\\':
			i++
			if i >= len(c) {
				return i
			}
			i = pdfEscape(c, i, out)
			continue
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i
			}
		}
		*out = append(*out, pdfByte(b)...)
	}
	return i
}

func pdfEscape(c []byte, i int, out *[]byte) int {
	switch b := c[i]; b {
	case 'n', 'r':
		*out = append(*out, '\n')
	case 't':
		*out = append(*out, '\t')
	case 'b', 'f':
	case '\r', '\n':
	default:
		if b >= '0' && b <= '7' {
			v, j := 0, i
			for ; j < len(c) && j < i+3 && c[j] >= '0' && c[j] <= '7'; j++ {
				v = v*8 + int(c[j]-'0')
			}
			*out = append(*out, pdfByte(byte(v))...)
			return j - 1
		}
		*out = append(*out, b)
	}
	return i
}

// pdfByte maps a WinAnsi byte to UTF-8 (Latin-1 for the upper half).
func pdfByte(b byte) []byte {
	if b < 0x80 {
		return []byte{b}
	}
	return []byte(string(rune(b)))
}

// pdfHex decodes a hex string starting after '<' and returns the index of its '>'.
func pdfHex(c []byte, i int, out *[]byte) int {
	var hi byte
	half := false
	for ; i < len(c) && c[i] != '>'; i++ {
		v, ok := hexVal(c[i])
		if !ok {
			continue
		}
		if !half {
			hi, half = v, true
			continue
		}
		half = false
		if b := hi<<4 | v; b >= 0x20 {
			*out = append(*out, pdfByte(b)...)
		}
	}
	return i
}

func hexVal(b byte) (byte, bool) {
	switch {
	case b >= '0' && b <= '9':
		return b - '0', true
	case b >= 'a' && b <= 'f':
		return b - 'a' + 10, true
	case b >= 'A' && b <= 'F':
		return b - 'A' + 10, true
	}
	return 0, false
}
