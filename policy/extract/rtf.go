package extract

import (
	"bytes"
	"strconv"
	"unicode/utf8"
)

// rtfSkip are the destinations whose content is not document text: tables, styles,
// list definitions, pictures, embedded object data, field instructions and other
// machinery.
var rtfSkip = map[string]bool{
	"fonttbl": true, "colortbl": true, "stylesheet": true, "listtable": true, "listoverridetable": true,
	"rsidtbl": true, "generator": true, "xmlnstbl": true, "themedata": true, "colorschememapping": true,
	"datastore": true, "latentstyles": true, "filetbl": true, "revtbl": true, "pgdsctbl": true,
	"pict": true, "objdata": true, "fldinst": true, "mmathPr": true, "wgrffmtfilter": true,
	"passwordhash": true, "blipuid": true, "nonshppict": true, "bkmkstart": true, "bkmkend": true,
	"defchp": true, "defpap": true, "listpicture": true, "protusertbl": true, "fchars": true, "lchars": true,
}

// rtfState is the state of one RTF group.
type rtfState struct {
	skip bool
	uc   int // bytes to skip after \uN
}

// RTFInfo is what an RTF document holds besides its text.
type RTFInfo struct {
	Pictures int  // \pict: images, a pasted scan among them
	Objects  int  // \object: embedded OLE objects, which are not read
	TooDeep  bool // groups nested deeper than the reader follows
}

// RTF returns the text of an RTF document as a word processor shows it: control words
// for breaks become line breaks and tabs, \'hh escapes are decoded in the declared
// code page (\ansicpg, Windows-1252 by default) and \uN escapes as Unicode, and font
// tables, styles, pictures and other destinations are skipped.
func RTF(src []byte) ([]byte, RTFInfo) {
	p := &rtfParser{src: src, cp: 1252, stack: []rtfState{{uc: 1}}}
	p.parse()
	p.flushBytes()
	return p.out, p.info
}

type rtfParser struct {
	src     []byte
	i       int
	out     []byte
	pending []byte // \'hh bytes still to decode in the code page
	cp      int
	stack   []rtfState
	skipN   int // characters still to skip after \uN
	info    RTFInfo
}

const rtfMaxNesting = 1000

func (p *rtfParser) top() *rtfState { return &p.stack[len(p.stack)-1] }

func (p *rtfParser) parse() {
	for p.i < len(p.src) {
		c := p.src[p.i]
		switch c {
		case '{':
			p.i++
			if len(p.stack) >= rtfMaxNesting {
				p.info.TooDeep = true
				return
			}
			p.stack = append(p.stack, *p.top())
		case '}':
			p.i++
			p.flushBytes()
			if len(p.stack) > 1 {
				p.stack = p.stack[:len(p.stack)-1]
			}
		case '\\':
			p.control()
		case '\r', '\n':
			p.i++
		default:
			p.i++
			p.char(c)
		}
	}
}

// char writes one plain character of the document.
func (p *rtfParser) char(c byte) {
	if p.skipN > 0 {
		p.skipN--
		return
	}
	if p.top().skip {
		return
	}
	if c >= 0x80 {
		p.pending = append(p.pending, c)
		return
	}
	p.flushBytes()
	p.out = append(p.out, c)
}

// flushBytes decodes the \'hh bytes collected so far.
func (p *rtfParser) flushBytes() {
	if len(p.pending) == 0 {
		return
	}
	if p.cp == 1252 || p.cp == 0 {
		p.out = append(p.out, windows1252(p.pending)...)
	} else if t, err := DecodeCharset("windows-"+strconv.Itoa(p.cp), p.pending, int64(len(p.pending))*4); err == nil {
		p.out = append(p.out, t...)
	} else {
		p.out = append(p.out, windows1252(p.pending)...)
	}
	p.pending = p.pending[:0]
}

// control reads a control word or symbol at p.src[p.i] == '\\'.
func (p *rtfParser) control() {
	p.i++
	if p.i >= len(p.src) {
		return
	}
	c := p.src[p.i]
	if !isLetter(c) {
		p.i++
		p.symbol(c)
		return
	}
	start := p.i
	for p.i < len(p.src) && isLetter(p.src[p.i]) && p.i-start < 32 {
		p.i++
	}
	word := string(p.src[start:p.i])
	num, hasNum := 0, false
	ns := p.i
	if p.i < len(p.src) && p.src[p.i] == '-' {
		p.i++
	}
	for p.i < len(p.src) && p.src[p.i] >= '0' && p.src[p.i] <= '9' && p.i-ns < 10 {
		p.i++
	}
	if n, err := strconv.Atoi(string(p.src[ns:p.i])); err == nil {
		num, hasNum = n, true
	}
	if p.i < len(p.src) && p.src[p.i] == ' ' {
		p.i++
	}
	p.word(word, num, hasNum)
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// symbol handles a control symbol: \'hh, \*, escaped characters and special spaces.
func (p *rtfParser) symbol(c byte) {
	switch c {
	case '\'':
		if p.i+2 <= len(p.src) {
			hi, ok1 := hexVal(p.src[p.i])
			lo, ok2 := hexVal(p.src[p.i+1])
			p.i += 2
			if ok1 && ok2 {
				p.char(hi<<4 | lo)
			}
		}
	case '*':
		if p.i < len(p.src) && p.src[p.i] == '\\' && !bytes.HasPrefix(p.src[p.i:], []byte("\\shpinst")) {
			p.top().skip = true // an optional destination not needed for text
		}
	case '~':
		p.char(' ')
	case '_', '-':
		p.char('-')
	case '\\', '{', '}':
		p.char(c)
	case '\n', '\r':
		p.char('\n')
	case '\t':
		p.char('\t')
	}
}

// word handles a control word.
func (p *rtfParser) word(w string, n int, hasNum bool) {
	st := p.top()
	switch w {
	case "par", "line", "sect", "page", "row", "pard":
		if w != "pard" {
			p.text('\n')
		}
	case "tab", "cell":
		p.text('\t')
	case "u":
		if !st.skip && p.skipN == 0 {
			p.flushBytes()
			if n < 0 {
				n += 65536
			}
			r := rune(n)
			if !utf8.ValidRune(r) {
				r = utf8.RuneError
			}
			p.out = utf8.AppendRune(p.out, r)
		}
		p.skipN = st.uc
	case "uc":
		if hasNum && n >= 0 && n < 10 {
			st.uc = n
		}
	case "ansicpg":
		if hasNum {
			p.cp = n
		}
	case "bin":
		if hasNum && n > 0 {
			p.i = min(len(p.src), p.i+n)
		}
	case "pict":
		p.info.Pictures++
		st.skip = true
	case "object":
		p.info.Objects++
	default:
		if rtfSkip[w] {
			st.skip = true
		}
	}
}

// text writes a break character unless the group is skipped.
func (p *rtfParser) text(c byte) {
	if p.top().skip {
		return
	}
	p.flushBytes()
	p.out = append(p.out, c)
}

// rtf extracts an RTF document; embedded objects are not read, and a document of
// pictures without text is a scan.
func (x *extractor) rtf(data []byte, name string) {
	text, info := RTF(data)
	x.text(name, text)
	switch {
	case info.TooDeep:
		x.unreadable(ReasonLimit)
	case info.Objects > 0:
		x.unreadable(ReasonUnsupported)
	case info.Pictures > 0 && len(bytes.TrimSpace(text)) == 0:
		x.unreadable(ReasonNoText)
	}
}
