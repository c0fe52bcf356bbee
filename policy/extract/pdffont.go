package extract

import (
	"bytes"
	"unicode/utf16"
	"unicode/utf8"
)

// pdfFont decodes the strings shown in one font.
type pdfFont struct {
	width int               // bytes per character code: 1 for simple fonts, 2 for Type0
	cmap  map[uint32]string // ToUnicode mapping (ISO 32000-1 §9.10.3); nil when absent
}

// decode turns a shown string into text. Simple fonts without a mapping read as
// WinAnsi; a code a composite font (or its mapping) cannot map counts as unmapped.
func (f *pdfFont) decode(s []byte) ([]byte, int, int) {
	if f == nil || (f.cmap == nil && f.width == 1) {
		return latinText(s), len(s), 0
	}
	var out []byte
	codes, unmapped := 0, 0
	for i := 0; i+f.width <= len(s); i += f.width {
		var code uint32
		for k := 0; k < f.width; k++ {
			code = code<<8 | uint32(s[i+k])
		}
		codes++
		if t, ok := f.cmap[code]; ok {
			out = append(out, t...)
			continue
		}
		if f.width == 1 {
			out = append(out, latinText(s[i:i+1])...)
			continue
		}
		unmapped++
	}
	return out, codes, unmapped
}

// newPDFFont reads a font dictionary's code width and ToUnicode mapping.
func (r *pdfReader) newPDFFont(d pdfDict) *pdfFont {
	f := &pdfFont{width: 1}
	if st, _ := r.resolve(d["Subtype"]).(pdfName); st == "Type0" {
		f.width = 2
	}
	ref, ok := d["ToUnicode"].(pdfRef)
	if !ok {
		return f
	}
	data, err := r.streamOf(ref)
	if err != nil {
		r.fail(err)
		return f
	}
	f.cmap, f.width = parseToUnicode(data, f.width)
	return f
}

// parseToUnicode reads the bfchar and bfrange entries of a ToUnicode CMap and the code
// width its codespace ranges declare.
func parseToUnicode(data []byte, width int) (map[uint32]string, int) {
	m := map[uint32]string{}
	l := &pdfLexer{b: data}
	var stack []any
	for entries := 0; entries < 1<<17; {
		v, ok := l.value(0)
		if !ok {
			if l.i >= len(l.b) {
				break
			}
			l.i++
			continue
		}
		kw, isKw := v.(pdfKw)
		if !isKw {
			stack = append(stack, v)
			continue
		}
		switch kw {
		case "endcodespacerange":
			if len(stack) >= 2 {
				if s, ok := stack[0].(pdfStr); ok && len(s) >= 1 && len(s) <= 4 {
					width = len(s)
				}
			}
		case "endbfchar":
			for k := 0; k+1 < len(stack); k += 2 {
				src, ok1 := stack[k].(pdfStr)
				dst, ok2 := stack[k+1].(pdfStr)
				if ok1 && ok2 && len(src) <= 4 {
					m[codeOf(src)] = utf16BE(dst)
					entries++
				}
			}
		case "endbfrange":
			entries += bfRanges(stack, m)
		}
		stack = stack[:0]
	}
	return m, width
}

// bfRanges adds "lo hi dst" and "lo hi [d1 d2 ...]" entries; ranges are bounded.
func bfRanges(stack []any, m map[uint32]string) int {
	n := 0
	for k := 0; k+2 < len(stack); k += 3 {
		lo, ok1 := stack[k].(pdfStr)
		hi, ok2 := stack[k+1].(pdfStr)
		if !ok1 || !ok2 || len(lo) > 4 || len(hi) > 4 {
			continue
		}
		a, b := codeOf(lo), codeOf(hi)
		if b < a || b-a > 1<<16 {
			continue
		}
		switch dst := stack[k+2].(type) {
		case pdfStr:
			base := []rune(utf16BE(dst))
			for c := a; c <= b && len(base) > 0; c++ {
				r := append([]rune(nil), base...)
				r[len(r)-1] += rune(c - a)
				m[c] = string(r)
				n++
			}
		case []any:
			for i, v := range dst {
				if s, ok := v.(pdfStr); ok && a+uint32(i) <= b {
					m[a+uint32(i)] = utf16BE(s)
					n++
				}
			}
		}
	}
	return n
}

func codeOf(s []byte) uint32 {
	var c uint32
	for _, b := range s {
		c = c<<8 | uint32(b)
	}
	return c
}

// utf16BE decodes UTF-16BE text, as ToUnicode targets and text strings with a byte
// order mark are written.
func utf16BE(s []byte) string {
	units := make([]uint16, len(s)/2)
	for i := range units {
		units[i] = uint16(s[2*i])<<8 | uint16(s[2*i+1])
	}
	return string(utf16.Decode(units))
}

// pdfTextString decodes a text string outside content streams (ISO 32000-1 §7.9.2.2):
// UTF-16BE after a byte order mark, UTF-8 after its mark, else PDFDocEncoding, read as
// Latin-1.
func pdfTextString(s []byte) []byte {
	switch {
	case bytes.HasPrefix(s, []byte("\xfe\xff")):
		return []byte(utf16BE(s[2:]))
	case bytes.HasPrefix(s, []byte("\xef\xbb\xbf")) && utf8.Valid(s[3:]):
		return s[3:]
	}
	return latinText(s)
}
