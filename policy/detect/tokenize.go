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

// tok is one token of a segment; s and e are byte offsets into the segment, h the FNV-1a
// hash of its lower-cased bytes (words and numbers only).
type tok struct {
	s, e  int32
	h     uint32
	kind  uint8
	flags uint8
	gap   uint8
	ch    byte // the character of an ASCII punctuation token
}

// set writes every field of t. Built in place this way rather than copied from a
// composite literal, the token is not assembled on the stack byte by byte and then read
// back whole, which stalls the processor on every token.
func (t *tok) set(s, e int, h uint32, kind, flags, gap, ch uint8) {
	t.s, t.e, t.h = int32(s), int32(e), h
	t.kind, t.flags, t.gap, t.ch = kind, flags, gap, ch
}

// Character classes of ASCII bytes, for the tokenizer's fast path.
// The classes that start a word come last, so that one comparison tells a word.
const (
	ccPunct uint8 = iota
	ccSpace
	ccLine
	ccHigh // start or continuation of a UTF-8 sequence
	ccLower
	ccUpper
	ccDigit
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

// Letter bits of the characters of a word, for the tokenizer.
const (
	wLower uint8 = 1 << iota // a lower-case letter, or a letter or mark without case
	wUpper                   // an upper-case letter
	wDigit                   // an ASCII digit
)

// wordBits holds the letter bits of the ASCII letters and digits; 0 for other bytes.
var wordBits = func() (t [256]uint8) {
	for c := range t {
		switch charClass[c] {
		case ccLower:
			t[c] = wLower
		case ccUpper:
			t[c] = wUpper
		case ccDigit:
			t[c] = wDigit
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

const (
	fnvOffset = 2166136261
	fnvPrime  = 16777619
)

// tokenize splits seg into tokens and writes the bytes of every token lower-cased (ASCII
// letters only) at the same offsets in low; the bytes between tokens are left alone. It
// also reports whether seg holds a UTF-8 lead byte of the CJK blocks (0xE3-0xE9).
//
// ASCII text goes through tokenizeASCII, a small loop whose state stays in registers;
// each token that holds other bytes is read by slowToken.
//
// seg is at most maxSegment bytes long (segmentLen), so it has at most maxSegment tokens.
func tokenize(seg []byte, low []byte, toks []tok) ([]tok, bool) {
	if cap(toks) < maxSegment {
		toks = make([]tok, maxSegment)
	}
	arr := (*[maxSegment]tok)(toks[:maxSegment])
	toks = toks[:len(seg)] // a token is at least one byte long
	low = low[:len(seg)]
	cjk := false
	gap := gapLine
	n, i := 0, 0
	for {
		n, i, gap = tokenizeASCII(seg, low, arr, n, i, gap)
		if i >= len(seg) {
			return toks[:n], cjk
		}
		var t tok
		var high bool
		t, high, i = slowToken(seg, low, i)
		cjk = cjk || high
		switch {
		case t.kind != 0:
			t.gap = gap
			toks[n] = t
			n++
			gap = gapNone
		case t.gap == gapSpace:
			gap = max(gap, gapSpace)
		}
	}
}

// tokenizeASCII reads tokens made of ASCII bytes into toks[n:] from seg[i:], and stops at
// the end of seg or at a token that holds a byte of 0x80 or more, returning the number of
// tokens, where it stopped and the gap before that point.
func tokenizeASCII(seg, low []byte, toks *[maxSegment]tok, n, i int, gap uint8) (int, int, uint8) {
	low = low[:len(seg)]
	for uint(i) < uint(len(seg)) {
		c := seg[i]
		if k := charClass[c]; k < ccLower {
			switch k {
			case ccSpace:
				gap = max(gap, gapSpace)
			case ccLine:
				gap = gapLine
			case ccPunct:
				low[i] = c
				toks[n].set(i, i+1, 0, tkPunct, 0, gap, c)
				n++
				gap = gapNone
			default: // ccHigh
				return n, i, gap
			}
			i++
			continue
		}
		// The word's letters, digits and inner apostrophes, written lower-cased into
		// low (c|0x20 is the lower case of each of them) and hashed. Its start and
		// the gap before it go into its token first, to keep registers for the loop.
		toks[n].s, toks[n].gap, toks[n].ch = int32(i), gap, 0
		lc := c | 0x20
		low[i] = lc
		h := (fnvOffset ^ uint32(lc)) * fnvPrime
		bits := wordBits[c] << 3 // the first character's letter bits, then the others'
	letters:
		for i++; uint(i) < uint(len(seg)); i++ { // unsigned: no bounds check on seg[i]
			c := uint32(seg[i])
			b := wordBits[c&0xff]
			if b == 0 {
				break
			}
			bits |= b
			c |= 0x20
			low[i] = byte(c)
			h = (h ^ c) * fnvPrime
		}
		if uint(i) < uint(len(seg)) && seg[i] == '\'' && i+1 < len(seg) && isLetter(seg[i+1]) {
			low[i] = '\'' // an apostrophe between letters: O'Brien, don't
			h = (h ^ '\'') * fnvPrime
			goto letters
		}
		t := &toks[n]
		fk := wordKinds[bits&63]
		next := byte(0) // the byte after the word
		if uint(i) < uint(len(seg)) {
			next = seg[i]
		}
		if fk == 0 || next >= 0x80 {
			return n, int(t.s), t.gap // inner capitals, or the word goes on with other letters
		}
		t.e, t.h, t.kind, t.flags = int32(i), h, uint8(fk>>8), uint8(fk)
		n++
		gap = gapNone
		if next == ' ' { // the usual one space between words, read here
			gap = gapSpace
			i++
		}
	}
	return n, i, gap
}

// slowToken reads the token or the space starting at i, which holds a byte of 0x80 or
// more: it returns the token (kind 0 for a space, with gap gapSpace), whether it saw a
// CJK lead byte, and where it ends.
func slowToken(seg, low []byte, i int) (tok, bool, int) {
	c := seg[i]
	if charClass[c] == ccHigh {
		r, size := utf8.DecodeRune(seg[i:])
		if !unicode.IsLetter(r) {
			if unicode.IsSpace(r) {
				return tok{gap: gapSpace}, isCJKLead(c), i + size
			}
			copy(low[i:i+size], seg[i:i+size])
			return tok{s: int32(i), e: int32(i + size), kind: tkPunct}, isCJKLead(c), i + size
		}
	}
	t, cjk := scanWord(seg, low, i)
	return t, cjk, int(t.e)
}

func isCJKLead(c byte) bool { return c >= 0xE3 && c <= 0xE9 }

// scanWord reads one word or number token starting at start: letters, digits, combining
// marks and apostrophes between letters. It writes the token lower-cased into low and
// reports whether it holds a CJK lead byte.
func scanWord(seg, low []byte, start int) (tok, bool) {
	h := uint32(fnvOffset)
	var first, rest uint8 // letter bits of the first character and of the others
	cjk := false
	i := start
	if b := wordBits[seg[i]]; b != 0 {
		first = b
		c := lowerTable[seg[i]]
		low[i] = c
		h = (h ^ uint32(c)) * fnvPrime
		i++
	}
	for i < len(seg) {
		c := seg[i]
		if b := wordBits[c]; b != 0 {
			rest |= b
			c = lowerTable[c]
			low[i] = c
			h = (h ^ uint32(c)) * fnvPrime
			i++
			continue
		}
		if c < 0x80 {
			if c == '\'' && i > start && i+1 < len(seg) && isLetter(seg[i+1]) {
				low[i] = c
				h = (h ^ uint32(c)) * fnvPrime
				i++
				continue
			}
			break
		}
		cjk = cjk || isCJKLead(c)
		r, size := utf8.DecodeRune(seg[i:])
		if !unicode.IsLetter(r) && !unicode.IsMark(r) {
			break
		}
		b := wLower
		if unicode.IsUpper(r) {
			b = wUpper
		}
		if i == start {
			first = b
		} else {
			rest |= b
		}
		for k := i; k < i+size; k++ {
			low[k] = seg[k]
			h = (h ^ uint32(seg[k])) * fnvPrime
		}
		i += size
	}
	flags := wordFlags(seg[start:i], first, rest)
	kind := tkWord
	if flags&fAlpha == 0 {
		kind = tkNum
	}
	return tok{s: int32(start), e: int32(i), h: h, kind: kind, flags: flags}, cjk
}

// wordFlags turns the letter bits of a word's first character and of the others into
// token flags.
func wordFlags(w []byte, first, rest uint8) uint8 {
	flags := flagsOf(first, rest)
	if first&wUpper != 0 && (first|rest)&(wLower|wDigit) == wLower && (rest&wUpper == 0 || innerCapital(w)) {
		flags |= fCap
	}
	return flags
}

// flagsOf returns the token flags of a word from the letter bits of its first character
// and of the others, fCap aside.
func flagsOf(first, rest uint8) uint8 {
	all := first | rest
	var flags uint8
	if all&wDigit != 0 {
		flags |= fDigit
	}
	if all&(wLower|wUpper) != 0 {
		flags |= fAlpha
		if all&wLower == 0 {
			flags |= fUpper
		}
	}
	return flags
}

// wordKinds holds, by first<<3|rest (the letter bits of a word's first character and of
// the others), its kind<<8|flags, or 0 when the flags depend on where the capitals are
// (innerCapital).
var wordKinds = func() (t [64]uint16) {
	for first := range uint8(8) {
		for rest := range uint8(8) {
			flags := flagsOf(first, rest)
			if first&wUpper != 0 && (first|rest)&(wLower|wDigit) == wLower {
				if rest&wUpper != 0 {
					continue
				}
				flags |= fCap
			}
			kind := tkWord
			if flags&fAlpha == 0 {
				kind = tkNum
			}
			t[first<<3|rest] = uint16(kind)<<8 | uint16(flags)
		}
	}
	return t
}()

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
