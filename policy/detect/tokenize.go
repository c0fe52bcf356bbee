package detect

import (
	"unicode"
	"unicode/utf8"
)

// Token kinds.
const (
	tkWord  uint8 = iota + 1 // letters, possibly with digits
	tkNum                    // digits only
	tkPunct                  // one punctuation character
)

// Token flags.
const (
	fCap   uint8 = 1 << iota // first letter upper case, the rest lower case
	fUpper                   // all letters upper case
	fDigit                   // contains a digit
	fAlpha                   // contains a letter
)

// Gaps before a token.
const (
	gapNone uint8 = iota
	gapSpace
	gapLine
)

// tok is one token of a segment; s and e are byte offsets into the segment.
type tok struct {
	s, e  int32
	kind  uint8
	flags uint8
	gap   uint8
	ch    byte // the character of an ASCII punctuation token
}

// Character classes of ASCII bytes, for the tokenizer's fast path.
const (
	ccPunct uint8 = iota
	ccSpace
	ccLine
	ccLower
	ccUpper
	ccDigit
	ccHigh // start or continuation of a UTF-8 sequence
)

var charClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		switch {
		case c >= 0x80:
			t[c] = ccHigh
		case c == '\n':
			t[c] = ccLine
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			t[c] = ccSpace
		case c >= 'a' && c <= 'z':
			t[c] = ccLower
		case c >= 'A' && c <= 'Z':
			t[c] = ccUpper
		case c >= '0' && c <= '9':
			t[c] = ccDigit
		}
	}
	return t
}()

var lowerTable = func() (t [256]byte) {
	for c := range t {
		t[c] = byte(c)
		if c >= 'A' && c <= 'Z' {
			t[c] = byte(c + 32)
		}
	}
	return t
}()

// lowerASCII writes seg into low with ASCII letters lower-cased.
func lowerASCII(seg, low []byte) {
	low = low[:len(seg)]
	for i, c := range seg {
		low[i] = lowerTable[c]
	}
}

// tokenize splits seg into tokens; low must hold seg lower-cased by lowerASCII.
func tokenize(seg []byte, low []byte, toks []tok) []tok {
	lowerASCII(seg, low)
	if cap(toks) < len(seg)/3 {
		toks = make([]tok, 0, len(seg)/3)
	}
	toks = toks[:0]
	gap := gapLine
	n := len(seg)
	for i := 0; i < n; {
		c := seg[i]
		switch charClass[c] {
		case ccLine:
			gap = gapLine
			i++
			continue
		case ccSpace:
			if gap < gapSpace {
				gap = gapSpace
			}
			i++
			continue
		case ccPunct:
			toks = append(toks, tok{s: int32(i), e: int32(i + 1), kind: tkPunct, gap: gap, ch: c})
			gap = gapNone
			i++
			continue
		case ccHigh:
			r, size := utf8.DecodeRune(seg[i:])
			if !unicode.IsLetter(r) {
				if unicode.IsSpace(r) {
					if gap < gapSpace {
						gap = gapSpace
					}
				} else {
					toks = append(toks, tok{s: int32(i), e: int32(i + size), kind: tkPunct, gap: gap})
					gap = gapNone
				}
				i += size
				continue
			}
		}
		t, next := scanWord(seg, i)
		t.gap = gap
		gap = gapNone
		toks = append(toks, t)
		i = next
	}
	return toks
}

// scanWord reads one word or number token starting at i.
func scanWord(seg []byte, i int) (tok, int) {
	start := i
	var flags uint8
	lowerSeen, upperAfter := false, false
	for i < len(seg) {
		c := seg[i]
		switch charClass[c] {
		case ccLower:
			flags |= fAlpha
			lowerSeen = true
			i++
			continue
		case ccDigit:
			flags |= fDigit
			i++
			continue
		case ccUpper:
			flags |= fAlpha
			if i == start {
				flags |= fCap
			} else {
				upperAfter = true
			}
			i++
			continue
		case ccHigh:
			r, size := utf8.DecodeRune(seg[i:])
			if !unicode.IsLetter(r) && !unicode.IsMark(r) {
				break
			}
			flags |= fAlpha
			if unicode.IsUpper(r) {
				if i == start {
					flags |= fCap
				} else {
					upperAfter = true
				}
			} else {
				lowerSeen = true
			}
			i += size
			continue
		case ccPunct:
			if c == '\'' && i > start && i+1 < len(seg) && isLetter(seg[i+1]) {
				i++
				continue
			}
		}
		break
	}
	if flags&fAlpha != 0 && !lowerSeen {
		flags |= fUpper
	}
	if (upperAfter && !innerCapital(seg[start:i])) || !lowerSeen || flags&fDigit != 0 {
		flags &^= fCap
	}
	kind := tkWord
	if flags&fAlpha == 0 {
		kind = tkNum
	}
	return tok{s: int32(start), e: int32(i), kind: kind, flags: flags}, i
}

func isAlnum(c byte) bool { return isDigit(c) || isLetter(c) }

func isLetter(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }

// innerCapital reports whether an ASCII word is capitalised like a name with one inner
// capital after a lower-case letter or apostrophe: McDonald, O'Brien, DeShawn.
func innerCapital(w []byte) bool {
	uppers := 0
	for k, c := range w {
		if c >= 'A' && c <= 'Z' {
			uppers++
			if k > 0 && !(w[k-1] >= 'a' && w[k-1] <= 'z' || w[k-1] == '\'') {
				return false
			}
		} else if c >= 0x80 {
			return false
		}
	}
	return uppers == 2 && len(w) >= 4 && w[len(w)-1] >= 'a' && w[len(w)-1] <= 'z'
}
