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

// tokenize splits seg into tokens and writes an ASCII-lower-cased copy of seg into low.
func tokenize(seg []byte, low []byte, toks []tok) []tok {
	toks = toks[:0]
	gap := gapLine
	n := len(seg)
	for i := 0; i < n; {
		c := seg[i]
		switch {
		case c == '\n':
			low[i] = c
			gap = gapLine
			i++
			continue
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			low[i] = c
			if gap < gapSpace {
				gap = gapSpace
			}
			i++
			continue
		case c < utf8.RuneSelf && !isAlnum(c):
			low[i] = c
			toks = append(toks, tok{s: int32(i), e: int32(i + 1), kind: tkPunct, gap: gap, ch: c})
			gap = gapNone
			i++
			continue
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(seg[i:])
			if !unicode.IsLetter(r) {
				copy(low[i:i+size], seg[i:i+size])
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
		t, next := scanWord(seg, low, i)
		t.gap = gap
		gap = gapNone
		toks = append(toks, t)
		i = next
	}
	return toks
}

// scanWord reads one word or number token starting at i.
func scanWord(seg, low []byte, i int) (tok, int) {
	start := i
	var flags uint8
	first, lowerSeen, upperAfter := true, false, false
	for i < len(seg) {
		c := seg[i]
		if c < utf8.RuneSelf {
			if c == '\'' && i > start && i+1 < len(seg) && isLetter(seg[i+1]) {
				low[i] = c
				i++
				continue
			}
			if !isAlnum(c) {
				break
			}
			low[i] = c
			switch {
			case isDigit(c):
				flags |= fDigit
			case c >= 'A' && c <= 'Z':
				low[i] = c + 32
				flags |= fAlpha
				if first {
					flags |= fCap
				} else {
					upperAfter = true
				}
			default:
				flags |= fAlpha
				lowerSeen = true
			}
			first = false
			i++
			continue
		}
		r, size := utf8.DecodeRune(seg[i:])
		if !unicode.IsLetter(r) && !unicode.IsMark(r) {
			break
		}
		copy(low[i:i+size], seg[i:i+size])
		flags |= fAlpha
		if unicode.IsUpper(r) {
			if first {
				flags |= fCap
			} else {
				upperAfter = true
			}
		} else {
			lowerSeen = true
		}
		first = false
		i += size
	}
	if flags&fAlpha != 0 && !lowerSeen {
		flags |= fUpper
	}
	if upperAfter || !lowerSeen || flags&fDigit != 0 {
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
