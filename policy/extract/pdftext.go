package extract

import (
	"bytes"
	"strconv"
)

// pdfContent is what one content stream shows.
type pdfContent struct {
	text     []byte
	xobjects []string // names painted with Do
	inline   int      // inline images (BI ... ID ... EI)
	glyphs   int      // character codes shown
	unmapped int      // codes of fonts whose text cannot be decoded
}

// pdfDecoder turns the bytes of a shown string into text for the current font, and
// reports how many character codes it held and how many it could not map.
type pdfDecoder func(font string, s []byte) (text []byte, codes, unmapped int)

// scanContent reads a content stream (ISO 32000-1 §9.4): the strings of the text
// operators Tj, TJ, ' and " (and of any other operand, such as /ActualText), line
// breaks for the text-positioning operators, the XObjects painted and inline images.
func scanContent(c []byte, dec pdfDecoder) pdfContent {
	var out pdfContent
	font, lastName := "", ""
	strStart := 0
	show := func(raw []byte) {
		strStart = len(out.text)
		t, n, u := dec(font, raw)
		out.text = append(out.text, t...)
		out.glyphs += n
		out.unmapped += u
	}
	for i := 0; i < len(c); {
		switch b := c[i]; {
		case isPDFSpace(b) || b == '[' || b == ']' || b == '{' || b == '}' || b == '>' || b == ')':
			i++
		case b == '%':
			for i < len(c) && c[i] != '\n' && c[i] != '\r' {
				i++
			}
		case b == '(':
			raw, end := pdfLiteralBytes(c, i+1)
			show(raw)
			i = end + 1
		case b == '<' && i+1 < len(c) && c[i+1] == '<':
			i += 2
		case b == '<':
			end := bytes.IndexByte(c[i:], '>')
			if end < 0 {
				end = len(c) - i
			}
			show(hexBytes(c[i+1 : i+end]))
			i += end + 1
		case b == '/':
			l := &pdfLexer{b: c, i: i + 1}
			lastName = pdfNameDecode(l.word())
			i = l.i
		default:
			l := &pdfLexer{b: c, i: i}
			w := l.word()
			if len(w) == 0 {
				i++
				continue
			}
			i = l.i
			i = out.operator(string(w), c, i, &font, lastName, strStart)
		}
	}
	return out
}

// operator handles one operator or number word; it returns where reading goes on.
func (out *pdfContent) operator(w string, c []byte, i int, font *string, lastName string, strStart int) int {
	switch w {
	case "Tf":
		*font = lastName
	case "Do":
		out.xobjects = append(out.xobjects, lastName)
	case "T*", "Td", "TD", "Tm", "ET":
		out.text = append(out.text, '\n')
	case "'", `"`:
		out.text = append(out.text[:strStart], append([]byte{'\n'}, out.text[strStart:]...)...)
	case "BI":
		out.inline++
		return skipInlineImage(c, i)
	default:
		if w[0] == '-' {
			if n, err := strconv.ParseFloat(w, 64); err == nil && n < -200 {
				out.text = append(out.text, ' ') // a wide gap in a TJ array is a word break
			}
		}
	}
	return i
}

// skipInlineImage returns the index after the "EI" that ends an inline image whose
// "BI" ends at i; its data (after "ID") is binary.
func skipInlineImage(c []byte, i int) int {
	id := bytes.Index(c[i:], []byte("ID"))
	if id < 0 {
		return len(c)
	}
	for j := i + id + 3; j+2 <= len(c); j++ {
		if c[j] == 'E' && c[j+1] == 'I' && isPDFSpace(c[j-1]) && (j+2 == len(c) || isPDFSpace(c[j+2])) {
			return j + 2
		}
	}
	return len(c)
}

// latinText maps the bytes of a string in a simple font to text: WinAnsi is read as
// Latin-1 and control bytes are dropped.
func latinText(s []byte) []byte {
	out := make([]byte, 0, len(s))
	for _, b := range s {
		switch {
		case b == '\n' || b == '\t':
			out = append(out, b)
		case b < 0x20:
		default:
			out = append(out, pdfByte(b)...)
		}
	}
	return out
}

// pdfByte maps a WinAnsi byte to UTF-8 (Latin-1 for the upper half).
func pdfByte(b byte) []byte {
	if b < 0x80 {
		return []byte{b}
	}
	return []byte(string(rune(b)))
}

// mostlyText reports whether extracted strings read as text: mostly letters, digits,
// spaces and common punctuation, as opposed to the glyph codes of fonts with a custom
// encoding.
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
