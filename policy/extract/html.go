package extract

import (
	"bytes"
	"html"
)

// HTML returns the visible text of an HTML document. Words split by inline tags
// ("Oba<span></span>diah") are joined again, block tags become line breaks or tabs,
// character references are decoded, and script, style, head metadata and comments are
// dropped. It never fails: broken markup yields whatever text it holds.
func HTML(src []byte) []byte {
	out := make([]byte, 0, len(src)/2)
	var run []byte
	flush := func() {
		if len(run) == 0 {
			return
		}
		if bytes.IndexByte(run, '&') >= 0 {
			out = append(out, html.UnescapeString(string(run))...)
		} else {
			out = append(out, run...)
		}
		run = run[:0]
	}
	for i := 0; i < len(src); {
		c := src[i]
		if c != '<' {
			j := bytes.IndexByte(src[i:], '<')
			if j < 0 {
				j = len(src) - i
			}
			run = append(run, src[i:i+j]...)
			i += j
			continue
		}
		flush()
		i = skipTag(src, i, &out)
	}
	flush()
	return out
}

// skipTag consumes the tag starting at src[i] == '<', writes the separator it stands
// for, and returns the index after it (after the closing tag for script and style).
func skipTag(src []byte, i int, out *[]byte) int {
	if bytes.HasPrefix(src[i:], []byte("<!--")) {
		if k := bytes.Index(src[i+4:], []byte("-->")); k >= 0 {
			return i + 4 + k + 3
		}
		return len(src)
	}
	end := bytes.IndexByte(src[i:], '>')
	if end < 0 {
		return len(src)
	}
	name := tagName(src[i+1 : i+end])
	next := i + end + 1
	switch name {
	case "script", "style", "title", "head", "noscript", "template":
		if src[i+1] != '/' {
			return skipTo(src, next, name)
		}
	case "td", "th":
		*out = append(*out, '\t')
	case "br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table",
		"blockquote", "hr", "ul", "ol", "dt", "dd", "section", "article", "header",
		"footer", "pre", "body", "html", "caption", "tbody", "thead", "address":
		*out = append(*out, '\n')
	}
	return next
}

// tagName returns the lower-case element name of a tag's inside ("/td class=x" -> "td").
func tagName(b []byte) string {
	b = bytes.TrimPrefix(b, []byte("/"))
	n := 0
	for n < len(b) && n < 12 && isNameByte(b[n]) {
		n++
	}
	var buf [12]byte
	for k := 0; k < n; k++ {
		c := b[k]
		if c >= 'A' && c <= 'Z' {
			c += 32
		}
		buf[k] = c
	}
	return string(buf[:n])
}

func isNameByte(c byte) bool {
	return (c|0x20) >= 'a' && (c|0x20) <= 'z' || c >= '0' && c <= '9'
}

// skipTo returns the index after the closing tag </name>, or len(src).
func skipTo(src []byte, i int, name string) int {
	closing := []byte("</" + name)
	for i < len(src) {
		k := indexFold(src[i:], closing)
		if k < 0 {
			return len(src)
		}
		i += k
		if e := bytes.IndexByte(src[i:], '>'); e >= 0 {
			return i + e + 1
		}
		return len(src)
	}
	return len(src)
}

// indexFold is bytes.Index for an ASCII lower-case needle, ignoring case in s.
func indexFold(s, needle []byte) int {
	for i := 0; i+len(needle) <= len(s); i++ {
		k := bytes.IndexByte(s[i:], '<')
		if k < 0 {
			return -1
		}
		i += k
		if i+len(needle) <= len(s) && bytes.EqualFold(s[i:i+len(needle)], needle) {
			return i
		}
	}
	return -1
}
