package detect

import (
	"github.com/sealgate/sealgate/policy/lexicon"

	"context"
	"encoding/binary"
	"math/bits"
	"slices"
	"sync"
)

// Analyzer finds identifiers and health information in extracted text. It holds only
// read-only vocabulary after New and is safe for concurrent use.
type Analyzer struct {
	v    *vocab
	pool sync.Pool
}

// Options carries what the message header says about the people involved, as lower-case
// name words (from the display names of To/Cc and From).
type Options struct {
	Recipients map[string]bool
	Senders    map[string]bool
	// Bag, when not nil, counts the message's words and adjacent word pairs by hash.
	Bag *Bag
	// Trace, when not nil, is told the byte range in the scanned text of the token at
	// which each finding was made (for `sealgate check --explain`).
	Trace func(id ID, start, end int)
}

// Bag counts words and word pairs by hash bucket (FNV-1a of the lower-case word). Words
// with digits and capitalised words that are not vocabulary (names, mostly) are left
// out. Only touched buckets are kept track of, so a Bag is cheap to reset and to read.
type Bag struct {
	Counts  []float32 // by bucket; the length is a power of two
	Touched []uint32  // buckets with a count, in first-touch order
}

// NewBag returns an empty bag of size buckets (a power of two).
func NewBag(size int) *Bag { return &Bag{Counts: make([]float32, size)} }

// Reset empties the bag.
func (b *Bag) Reset() {
	for _, k := range b.Touched {
		b.Counts[k] = 0
	}
	b.Touched = b.Touched[:0]
}

// NewAnalyzer loads the vocabularies shipped with the package.
func NewAnalyzer() (*Analyzer, error) {
	v, err := loadVocab()
	if err != nil {
		return nil, err
	}
	a := &Analyzer{v: v}
	a.pool.New = func() any { return &scanner{v: v} }
	return a, nil
}

// maxSegment is the most text analysed as one unit; longer text is cut at a line break.
const maxSegment = 8 << 10

// Mark bits set on tokens by the number and lab passes.
const (
	mkHealth uint8 = 1 << iota // lab result, ICD code or other health evidence starts here
	mkUsed                     // the token is part of an identifier already counted
	mkCue                      // the word is in a cue group
)

// scanner is the per-call scratch state of an Analyzer.
type scanner struct {
	v    *vocab
	opt  *Options
	out  *Counts
	seg  []byte
	buf  *segBuf // backs low, toks, cls and mark
	low  []byte
	toks []tok
	cls  []class
	mark []uint8
	dig  []byte

	// Tokens each pass after classify looks at, in order; other tokens cannot make the
	// pass find anything.
	numC  []int32 // numbers: numbers and words with digits
	labC  []int32 // labs: analytes and numbers
	ctxC  []int32 // contextIDs: context words of identifiers
	nameC []int32 // names: capitalised words, upper-case patient labels
	posC  []int32 // possessive: care events, "my" and "your" words

	// Bit h%64 is set for the FNV-1a hash h of every word of Options.Recipients and
	// Options.Senders, so that most words are known not to be there without a map lookup.
	rcptBits, sendBits uint64
	base               int // offset of the current segment in the scanned text
}

// Scan analyses text and adds what it finds to out. It stops early, leaving partial
// counts, when ctx is done.
func (a *Analyzer) Scan(ctx context.Context, text []byte, opt *Options, out *Counts) error {
	s := a.pool.Get().(*scanner)
	defer a.pool.Put(s)
	if opt == nil {
		opt = &Options{}
	}
	s.opt, s.out = opt, out
	s.rcptBits, s.sendBits = nameBits(opt.Recipients), nameBits(opt.Senders)
	scanHL7(text, out)
	scanEmails(text, opt, out)
	s.base = 0
	for len(text) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := segmentLen(text)
		s.segment(text[:n])
		text = text[n:]
		s.base += n
	}
	s.opt, s.out, s.seg = nil, nil, nil
	return nil
}

// nameBits returns the bits of the FNV-1a hashes modulo 64 of the words of m.
func nameBits(m map[string]bool) uint64 {
	var b uint64
	for w := range m {
		b |= 1 << (fnv32([]byte(w)) & 63)
	}
	return b
}

func segmentLen(text []byte) int {
	if len(text) <= maxSegment {
		return len(text)
	}
	for i := maxSegment; i > maxSegment/2; i-- {
		if text[i-1] == '\n' {
			return i
		}
	}
	for i := maxSegment; i > maxSegment/2; i-- {
		if text[i-1] == ' ' {
			return i
		}
	}
	return maxSegment
}

// segBuf holds a segment's tokens and what the passes know of them, in arrays of fixed
// size so that the hot loops index them from one pointer, with constant bounds.
type segBuf struct {
	toks [maxSegment]tok
	cls  [maxSegment]class
	lex  [maxSegment]int32 // the lexeme of a word token, or -1 (set by lookupAll)
	mark [maxSegment]uint8
	low  [maxSegment + 16]byte // 16 to spare for the 8-byte loads of lookupAll
}

func (s *scanner) segment(seg []byte) {
	s.seg = seg
	if s.buf == nil {
		s.buf = new(segBuf)
	}
	b := s.buf
	s.low = b.low[:len(seg)]
	var cjk bool
	s.toks, cjk = tokenize(seg, s.low, b.toks[:])
	n := len(s.toks)
	s.cls, s.mark = b.cls[:n], b.mark[:n]
	clear(s.mark)
	s.classify()
	if cjk {
		s.chinese(seg)
	}
	s.numbers()
	s.labs()
	s.contextIDs()
	s.names()
	s.possessive()
}

// word returns the lower-cased text of token i.
func (s *scanner) word(i int) []byte {
	t := s.toks[i]
	return s.low[t.s:t.e]
}

// Classes that make a word a candidate of a pass after classify.
const (
	clPassCtx  = clCtxContact | clCtxDOB | clCtxMRN | clCtxMember
	clPassPos  = clCareEvent | clMine | clPossessive
	clPassAny  = clAnalyte | clPassCtx | clPassPos | clPatientLbl | clNameLbl
	fPassNames = fCap | fDigit
)

// classify looks every word up in the vocabulary, counts health terms and markers, sets
// s.cls and collects each later pass's candidate tokens; then it counts the segment's
// words in Options.Bag.
//
// It goes over the tokens in passes: every word's own vocabulary entry (lookupAll, a
// loop without calls), then the words that need more (slowWord) and the candidates,
// then the bag.
func (s *scanner) classify() {
	s.lookupAll()
	s.numC, s.labC, s.ctxC, s.nameC, s.posC = s.numC[:0], s.labC[:0], s.ctxC[:0], s.nameC[:0], s.posC[:0]
	toks, cls := s.toks, s.cls[:len(s.toks)]
	for i := range toks {
		t := &toks[i]
		if t.kind == tkPunct {
			continue
		}
		if cls[i]&clSlow != 0 {
			s.slowWord(i)
		}
		if cls[i]&clPassAny != 0 || t.flags&fPassNames != 0 {
			s.candidate(i, t.kind, t.flags, cls[i])
		}
	}
	if s.opt.Bag != nil {
		s.bagWords(s.opt.Bag)
	}
}

// clSlow marks, between lookupAll and slowWord, a word that needs more than its own
// vocabulary entry; it is never left on a token.
const clSlow class = 1 << 63

// prefixMask[n] keeps the first n bytes (all eight from n = 8 on) of a little-endian
// number.
var prefixMask = [16]uint64{0, 0xff, 0xffff, 0xffffff, 0xffffffff, 0xffffffffff,
	0xffffffffffff, 0xffffffffffffff, 0xffffffffffffffff}

// capIndex is 1 for a capitalised or upper-case word's token flags, else 0: the index of
// its class in hotLex.cl.
var capIndex = func() (t [256]uint8) {
	for f := range t {
		if f&int(fCap|fUpper) != 0 {
			t[f] = 1
		}
	}
	return t
}()

// lookupAll sets the class of every token to what the vocabulary says of its word
// alone, with clSlow on the words that need more, and their lexeme indexes (-1 for none).
//
// Indexes into the fixed-size arrays are masked to their size, which changes none of
// them (a token lies within its segment, a slot's word within the vocabulary) but lets
// the compiler drop the bounds checks.
func (s *scanner) lookupAll() {
	b := s.buf
	tbl := (*[tableSize]slot)(s.v.table)
	hot := (*[maxWords]hotLex)(s.v.hot)
	lex, stemAt := s.v.lex, &s.v.stemAt
	n := min(len(s.toks), maxSegment)
	for i := 0; i < n; i++ {
		t := &b.toks[i]
		if t.kind != tkWord {
			b.cls[i] = 0
			continue
		}
		ws, wn := int(t.s)&(maxSegment-1), int(t.e-t.s)
		w8 := binary.LittleEndian.Uint64(b.low[ws:ws+8]) & prefixMask[min(wn, 8)&15]
		var cl class
		x := int32(-1)
	probe:
		for k := t.h; ; k++ {
			sl := tbl[k&(tableSize-1)]
			if sl.w == 0 {
				break
			}
			if sl.h != t.h {
				continue
			}
			w := (sl.w - 1) & (maxWords - 1)
			e := &hot[w]
			if e.k8 != w8 || e.n != int64(wn) {
				continue
			}
			if wn > 8 {
				if e.k16 != binary.LittleEndian.Uint64(b.low[ws+8:ws+16])&prefixMask[min(wn-8, 8)&15] {
					continue
				}
				for j, key := 16, lex[w].key; j < wn; j++ {
					if key[j] != b.low[ws+j] {
						continue probe
					}
				}
			}
			x, cl = int32(w), e.cl[capIndex[t.flags]&1]
			break
		}
		if cl == 0 && t.flags&fDigit == 0 && wn >= 6 {
			if k := suffixIndex(b.low[ws+wn-2 : ws+wn]); stemAt[k/64]&(1<<(k%64)) != 0 {
				cl = clSlow // its ending may tell
			}
		}
		b.cls[i] = cl
		b.lex[i] = x
	}
}

// slowWord finishes the class of word token i: the phrases that start with it, its
// ending, its cue groups and the counts of its health terms and markers.
func (s *scanner) slowWord(i int) {
	b := s.buf
	t := &b.toks[i]
	cl := b.cls[i] &^ clSlow
	var cue uint32
	if x := b.lex[i]; x >= 0 {
		e := &s.v.lex[x]
		cue = e.cue
		if len(e.phrases) != 0 {
			cl, cue = s.phrases(i, e.phrases, cl, cue)
		}
	}
	if cl == 0 && t.flags&fDigit == 0 && t.e-t.s >= 6 {
		w := s.word(i)
		cl = s.v.stemClass(w)
		if cl != 0 && t.flags&fCap != 0 && lexicon.Name(string(w)) {
			cl = 0 // a name that ends like a disease term: "Ifeoma", "Naoma"
		}
	}
	if cue != 0 {
		s.countCues(cue)
		b.mark[i] |= mkCue
	}
	if cl&clCounted != 0 {
		cl = s.counted(i, cl)
	}
	b.cls[i] = cl
}

// candidate adds word or number token i to the candidates of the passes it can matter to.
func (s *scanner) candidate(i int, kind, flags uint8, cl class) {
	if flags&fDigit != 0 {
		s.numC = append(s.numC, int32(i))
	}
	if cl&clAnalyte != 0 || kind == tkNum {
		s.labC = append(s.labC, int32(i))
	}
	if cl&clPassCtx != 0 {
		s.ctxC = append(s.ctxC, int32(i))
	}
	if flags&fCap != 0 || (flags&fUpper != 0 && cl&(clPatientLbl|clNameLbl) != 0) {
		s.nameC = append(s.nameC, int32(i))
	}
	if cl&clPassPos != 0 {
		s.posC = append(s.posC, int32(i))
	}
}

// bagWords counts the segment's words and adjacent word pairs in bag. Words with digits,
// one-letter words and capitalised words that are not vocabulary (names, mostly) are left
// out and break pairs.
func (s *scanner) bagWords(bag *Bag) {
	// The tokens and their classes are read from the fixed-size arrays of s.buf, one
	// pointer, which leaves registers for the loop's state.
	b := s.buf
	n := min(len(s.toks), maxSegment)
	touched := slices.Grow(bag.Touched, 2*n)
	nt := len(touched)
	touched = touched[:nt+2*n]
	counts := bag.Counts
	mask := uint32(len(counts) - 1)
	prev := uint32(0) // hash of the word before, when it is counted; else 0
	for i := 0; i < n; i++ {
		t := &b.toks[i]
		if t.kind != tkWord || t.flags&fDigit != 0 || t.e-t.s < 2 ||
			(t.flags&fCap != 0 && b.cls[i] == 0 && b.mark[i]&mkCue == 0) {
			prev = 0
			continue
		}
		h := t.h
		k := h & mask
		c := counts[k]
		counts[k] = c + 1
		if c == 0 {
			touched[nt] = k
			nt++
		}
		if prev != 0 {
			k = (prev*fnvPrime ^ h) & mask
			c := counts[k]
			counts[k] = c + 1
			if c == 0 {
				touched[nt] = k
				nt++
			}
		}
		prev = h
	}
	bag.Touched = touched[:nt]
}

// phrases adds to a word's class and cue groups those of the phrases that start with it
// at token i.
func (s *scanner) phrases(i int, ps []phrase, cl class, cue uint32) (class, uint32) {
	// The token a phrase's second word would be (past joining punctuation): when it is a
	// word or number whose hash differs from that word's, the phrase cannot match.
	j := i + 1
	for j < len(s.toks) && s.toks[j].kind == tkPunct && isJoiner(s.toks[j].ch) {
		j++
	}
	for _, p := range ps {
		if p.h1 != 0 && (j >= len(s.toks) || (s.toks[j].kind != tkPunct && s.toks[j].h != p.h1)) {
			continue
		}
		if s.matchPhrase(i, p.rest) {
			cl |= p.cl
			cue |= p.cue
		}
	}
	return cl, cue
}

// counted counts the health terms and markers of word token i, of class cl, and returns
// its class.
func (s *scanner) counted(i int, cl class) class {
	if cl&clVet != 0 && cl&clHealth != 0 {
		// A word that is also a health term is read as health ("PET scan" is
		// imaging; "pet" alone is no longer a veterinary word, "your pet" is).
		cl &^= clVet
	}
	if cl&clCounted != 0 {
		s.countClass(cl, i)
	}
	return cl
}

// clCounted are the classes countClass counts.
const clCounted = clHealth | clAnalyte | clVet | clBulk

// countCues counts one word's cue groups.
func (s *scanner) countCues(cue uint32) {
	for ; cue != 0; cue &= cue - 1 {
		s.out[FirstCue+ID(bits.TrailingZeros32(cue))]++
	}
}

func (s *scanner) countClass(cl class, i int) {
	switch {
	case cl&clCondition != 0:
		s.hit(Condition, i)
	case cl&clDrug != 0:
		s.hit(Drug, i)
	case cl&clProcedure != 0:
		s.hit(Procedure, i)
	case cl&clSpecialty != 0:
		s.hit(Specialty, i)
	}
	if cl&clAnalyte != 0 {
		s.out[CueHealthCare]++ // a lab test named, even without a value
	}
	if cl&clVet != 0 {
		s.hit(Veterinary, i)
	}
	if cl&clBulk != 0 {
		s.hit(BulkMail, i)
	}
}

// hit counts one finding of detector id at token i and reports its position to
// Options.Trace, if set.
func (s *scanner) hit(id ID, i int) {
	s.out[id]++
	if s.opt.Trace != nil {
		t := s.toks[i]
		s.opt.Trace(id, s.base+int(t.s), s.base+int(t.e))
	}
}

// matchPhrase reports whether the words after token i are rest, skipping joining
// punctuation (- . / ,) between them.
func (s *scanner) matchPhrase(i int, rest []string) bool {
	j := i + 1
	for _, w := range rest {
		for j < len(s.toks) && s.toks[j].kind == tkPunct && isJoiner(s.toks[j].ch) && !(len(w) == 1 && w[0] == s.toks[j].ch) {
			j++
		}
		if j >= len(s.toks) || string(s.word(j)) != w {
			return false
		}
		j++
	}
	return true
}

func isJoiner(c byte) bool { return c == '-' || c == '.' || c == '/' || c == ',' || c == '_' }

// prevWord returns the index of the nearest word token before i within max tokens,
// skipping punctuation, or -1.
func (s *scanner) prevWord(i, max int) int {
	for j := i - 1; j >= 0 && j >= i-max; j-- {
		if s.toks[j].kind == tkWord {
			return j
		}
	}
	return -1
}

// hasClassBefore reports whether a token with class cl appears in the max words or
// numbers before i.
func (s *scanner) hasClassBefore(i, max int, cl class) bool {
	for j, n := i-1, 0; j >= 0 && n < max; j-- {
		if s.cls[j]&cl != 0 {
			return true
		}
		if s.toks[j].kind != tkPunct {
			n++ // punctuation does not count: "Soc. Sec. No.:" is a label of three words
		}
	}
	return false
}

// hasClassNear reports whether a token with class cl is within dist tokens of i.
func (s *scanner) hasClassNear(i, dist int, cl class) bool {
	lo, hi := max(0, i-dist), min(len(s.toks)-1, i+dist)
	for j := lo; j <= hi; j++ {
		if s.cls[j]&cl != 0 {
			return true
		}
	}
	return false
}
