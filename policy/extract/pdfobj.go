package extract

import (
	"bytes"
	"strconv"
)

// PDF object model: just enough of ISO 32000-1 §7.3 to find pages, their content
// streams, resources, annotations, form fields and embedded files.

type (
	pdfName string
	pdfDict map[string]any
	pdfRef  struct{ num, gen int }
	pdfKw   string // a keyword other than true, false and null (obj, stream, R, ...)
)

// pdfStr is a decoded string object (literal or hexadecimal).
type pdfStr []byte

// pdfObject is one indirect object: its value and, for a stream, its raw data.
type pdfObject struct {
	val    any
	stream []byte // nil when the object is not a stream
}

const pdfMaxNesting = 64

// pdfLexer reads PDF objects from b.
type pdfLexer struct {
	b []byte
	i int
}

func isPDFSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0
}

func isPDFDelim(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

// skip passes white space and comments.
func (l *pdfLexer) skip() {
	for l.i < len(l.b) {
		c := l.b[l.i]
		switch {
		case isPDFSpace(c):
			l.i++
		case c == '%':
			for l.i < len(l.b) && l.b[l.i] != '\n' && l.b[l.i] != '\r' {
				l.i++
			}
		default:
			return
		}
	}
}

// word reads a run of regular characters.
func (l *pdfLexer) word() []byte {
	start := l.i
	for l.i < len(l.b) && !isPDFSpace(l.b[l.i]) && !isPDFDelim(l.b[l.i]) {
		l.i++
	}
	return l.b[start:l.i]
}

// value reads one object; ok is false at the end of input or on a closing delimiter.
func (l *pdfLexer) value(depth int) (any, bool) {
	defer func() { l.i = min(l.i, len(l.b)) }()
	l.skip()
	if l.i >= len(l.b) || depth > pdfMaxNesting {
		return nil, false
	}
	switch c := l.b[l.i]; {
	case c == '/':
		l.i++
		return pdfName(pdfNameDecode(l.word())), true
	case c == '(':
		s, end := pdfLiteralBytes(l.b, l.i+1)
		l.i = end + 1
		return pdfStr(s), true
	case c == '<' && l.i+1 < len(l.b) && l.b[l.i+1] == '<':
		l.i += 2
		return l.dict(depth), true
	case c == '<':
		end := bytes.IndexByte(l.b[l.i:], '>')
		if end < 0 {
			end = len(l.b) - l.i
		}
		s := hexBytes(l.b[l.i+1 : l.i+end])
		l.i += end + 1
		return pdfStr(s), true
	case c == '[':
		l.i++
		var arr []any
		for {
			l.skip()
			if l.i >= len(l.b) {
				return arr, true
			}
			if l.b[l.i] == ']' {
				l.i++
				return arr, true
			}
			v, ok := l.value(depth + 1)
			if !ok {
				l.i++ // a stray delimiter: step over it
				continue
			}
			arr = append(arr, v)
		}
	case c == ']' || c == '>' || c == ')' || c == '{' || c == '}':
		return nil, false
	}
	return l.scalar()
}

func (l *pdfLexer) dict(depth int) pdfDict {
	d := pdfDict{}
	for {
		l.skip()
		if l.i >= len(l.b) {
			return d
		}
		if l.b[l.i] == '>' {
			l.i += min(2, len(l.b)-l.i)
			return d
		}
		k, ok := l.value(depth + 1)
		if !ok {
			l.i++
			continue
		}
		key, isName := k.(pdfName)
		if !isName {
			continue
		}
		v, ok := l.value(depth + 1)
		if !ok {
			continue
		}
		d[string(key)] = v
	}
}

// scalar reads a number, a reference "N G R", a boolean, null or a keyword.
func (l *pdfLexer) scalar() (any, bool) {
	w := l.word()
	if len(w) == 0 {
		l.i++
		return nil, false
	}
	switch string(w) {
	case "true":
		return true, true
	case "false":
		return false, true
	case "null":
		return nil, true
	}
	if n, err := strconv.Atoi(string(w)); err == nil {
		save := l.i
		l.skip()
		if g := l.word(); len(g) > 0 {
			if gen, err := strconv.Atoi(string(g)); err == nil {
				l.skip()
				if l.i < len(l.b) && l.b[l.i] == 'R' && (l.i+1 == len(l.b) || isPDFSpace(l.b[l.i+1]) || isPDFDelim(l.b[l.i+1])) {
					l.i++
					return pdfRef{n, gen}, true
				}
			}
		}
		l.i = save
		return float64(n), true
	}
	if f, err := strconv.ParseFloat(string(w), 64); err == nil {
		return f, true
	}
	return pdfKw(w), true
}

// pdfNameDecode undoes #xx escapes in a name.
func pdfNameDecode(w []byte) string {
	if bytes.IndexByte(w, '#') < 0 {
		return string(w)
	}
	out := make([]byte, 0, len(w))
	for i := 0; i < len(w); i++ {
		if w[i] == '#' && i+2 < len(w) {
			hi, ok1 := hexVal(w[i+1])
			lo, ok2 := hexVal(w[i+2])
			if ok1 && ok2 {
				out = append(out, hi<<4|lo)
				i += 2
				continue
			}
		}
		out = append(out, w[i])
	}
	return string(out)
}

// pdfLiteralBytes decodes a literal string starting after '(' and returns its bytes
// and the index of its closing ')' (or len(c)).
func pdfLiteralBytes(c []byte, i int) ([]byte, int) {
	var out []byte
	depth := 1
	for ; i < len(c); i++ {
		b := c[i]
		switch b {
		case '\\':
			i++
			if i >= len(c) {
				return out, i
			}
			switch e := c[i]; e {
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case '\r':
				if i+1 < len(c) && c[i+1] == '\n' {
					i++
				}
			case '\n':
			default:
				if e >= '0' && e <= '7' {
					v, j := 0, i
					for ; j < len(c) && j < i+3 && c[j] >= '0' && c[j] <= '7'; j++ {
						v = v*8 + int(c[j]-'0')
					}
					out = append(out, byte(v))
					i = j - 1
					continue
				}
				out = append(out, e)
			}
			continue
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return out, i
			}
		}
		out = append(out, b)
	}
	return out, i
}

// hexBytes decodes the inside of a hexadecimal string; white space is ignored and an
// odd final digit counts as if followed by 0.
func hexBytes(h []byte) []byte {
	out := make([]byte, 0, len(h)/2)
	var hi byte
	half := false
	for _, c := range h {
		v, ok := hexVal(c)
		if !ok {
			continue
		}
		if !half {
			hi, half = v, true
			continue
		}
		out = append(out, hi<<4|v)
		half = false
	}
	if half {
		out = append(out, hi<<4)
	}
	return out
}

// pdfObjects finds every "N G obj" in src with its value and stream data. A later
// definition of a number replaces an earlier one, as incremental updates do.
func pdfObjects(src []byte) map[int]*pdfObject {
	objs := map[int]*pdfObject{}
	for pos := 0; pos < len(src); {
		k := bytes.Index(src[pos:], []byte("obj"))
		if k < 0 {
			break
		}
		at := pos + k
		pos = at + 3
		num, ok := objHeader(src, at)
		if !ok || (pos < len(src) && !isPDFSpace(src[pos]) && !isPDFDelim(src[pos])) {
			continue
		}
		l := &pdfLexer{b: src, i: pos}
		v, _ := l.value(0)
		o := &pdfObject{val: v}
		l.skip()
		if bytes.HasPrefix(src[l.i:], []byte("stream")) {
			o.stream, pos = streamBytes(src, l.i+len("stream"), v)
		} else {
			pos = max(pos, l.i)
		}
		objs[num] = o
	}
	return objs
}

// objHeader reads "N G " backwards from src[at] == 'o' of "obj" and returns N.
func objHeader(src []byte, at int) (int, bool) {
	j := at
	spaces := func() bool {
		s := j
		for j > 0 && isPDFSpace(src[j-1]) {
			j--
		}
		return j < s
	}
	digits := func() (int, int) {
		e := j
		for j > 0 && src[j-1] >= '0' && src[j-1] <= '9' && e-j < 10 {
			j--
		}
		return j, e
	}
	if !spaces() {
		return 0, false
	}
	if s, e := digits(); s == e {
		return 0, false
	}
	if !spaces() {
		return 0, false
	}
	s, e := digits()
	if s == e {
		return 0, false
	}
	n, err := strconv.Atoi(string(src[s:e]))
	return n, err == nil
}

// streamBytes returns a stream's raw data starting after the "stream" keyword at i,
// using a direct /Length when it ends at "endstream", else the next "endstream". It
// also returns where scanning may go on.
func streamBytes(src []byte, i int, dict any) ([]byte, int) {
	if i < len(src) && src[i] == '\r' {
		i++
	}
	if i < len(src) && src[i] == '\n' {
		i++
	}
	if d, ok := dict.(pdfDict); ok {
		if n, ok := d["Length"].(float64); ok && n >= 0 && int64(n) <= int64(len(src)-i) {
			end := i + int(n)
			rest := bytes.TrimLeft(src[end:min(end+64, len(src))], " \r\n\t\f\x00")
			if bytes.HasPrefix(rest, []byte("endstream")) {
				return src[i:end], end
			}
		}
	}
	e := bytes.Index(src[i:], []byte("endstream"))
	if e < 0 {
		return src[i:], len(src)
	}
	data := src[i : i+e]
	data = bytes.TrimSuffix(data, []byte("\n"))
	data = bytes.TrimSuffix(data, []byte("\r"))
	return data, i + e + len("endstream")
}
