package detect

import (
	"bufio"
	"bytes"
	"embed"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"github.com/sealgate/sealgate/policy/lexicon"
)

//go:embed data/*.txt
var dataFS embed.FS

// class is a bit set of what a word or phrase means to the detectors.
type class uint64

const (
	clCondition class = 1 << iota
	clDrug
	clProcedure
	clSpecialty
	clAnalyte
	clNotName
	clVet
	clBulk
	clCtxDOB      // date-of-birth words
	clCtxSSN      // social security words
	clCtxMRN      // record / account number words
	clCtxMember   // member / subscriber words
	clCtxMBI      // Medicare words
	clCtxNPI      // "NPI"
	clCtxICD      // diagnosis-code words
	clCtxNDC      // "NDC"
	clPatientLbl  // "Patient", "Paciente", "Applicant"
	clNameLbl     // "Name", "Re", "Nombre"
	clGreeting    // "Hi", "Dear", "Hola"
	clProvider    // "Dr", "Provider", "Prescriber": the next name is a clinician
	clClosing     // "Regards", "Sincerely": the next name is the sender
	clPossessive  // "your", "su": health words after it are the reader's own
	clBlockNoun   // "team", "patients": "your team" is not personal
	clUnit        // lab and dose units
	clDoseUnit    // dose units
	clHealthWord  // generic clinical words that only count next to "your"
	clMonth       // month names, for dates
	clMine        // "my", "mi": health words after it are the writer's own
	clCareEvent   // "visit confirmed", "le recordamos": the message is about the reader's care
	clStop        // articles, prepositions, verbs: the end of a noun phrase
	clCtxContact  // "cell", "home phone", "ship to": a personal phone number or address follows
	clAggregate   // "average", "median": figures about a population, not a person
	clNotPatient  // "said", "presented", "surgeons": the name before it is not a patient's
	clOrg         // organisation and place words (loaded into vocab.org, never set on tokens)
	clInstitution // "program", "unit", "software": "your diabetes program" is not your diabetes
)

const clHealth = clCondition | clDrug | clProcedure | clSpecialty

// phrase is a multi-word vocabulary entry, stored under its first word.
type phrase struct {
	rest []string
	h1   uint32 // FNV-1a hash of rest[0], or 0 when rest[0] is a joiner (isJoiner)
	cl   class
	cue  uint32 // cue groups, bit i for FirstCue+i
}

type entry struct {
	cl      class
	cue     uint32 // cue groups, bit i for FirstCue+i
	phrases []phrase
}

// vocab maps lower-case words to their classes. It is built once and read-only after.
type vocab struct {
	words   map[string]*entry
	notName map[string]bool // looked up for capitalised words only
	org     map[string]bool // organisation and place words, a subset of notName
	table   []slot          // words and notName words by hash, for lookup
	lex     []lexeme        // what the slots point to
	hot     []hotLex        // by the same index as lex: what the scanner reads of every word
	mask    uint32
	stems   [1024][]stem      // by the last two bytes of the suffix (suffixIndex)
	stemAt  [1024 / 64]uint64 // bit suffixIndex set when stems has suffixes there
	notStem map[string]bool   // ordinary words that end like a disease or drug term
	zh      []zhTerm          // Chinese terms, found as substrings
}

// lexeme is what the scanner knows of one vocabulary word: its entry in words (if any)
// and whether it is in notName.
type lexeme struct {
	key     string
	notName bool
	entry   // zero when the word is only in notName
}

// hotLex is the part of a lexeme that the scanner reads for every word it finds: the
// word's bytes in two little-endian numbers (the rest of a longer word is compared with
// lexeme.key), its length and its class as the word is written in lower case and
// capitalised (clNotName added for notName words), each with clSlow when the word needs
// more than its entry: it starts phrases, is in a cue group or is counted.
type hotLex struct {
	k8, k16 uint64 // bytes 0-7 and 8-15 of the word, zero-padded
	cl      [2]class
	n       int64 // the word's length
}

// newHotLex returns the hot part of lexeme e.
func newHotLex(e *lexeme) hotLex {
	b := append([]byte(e.key), make([]byte, 16)...)
	h := hotLex{k8: prefix8(b, len(e.key)), cl: [2]class{e.cl, e.cl}, n: int64(len(e.key))}
	if len(e.key) > 8 {
		h.k16 = prefix8(b[8:], len(e.key)-8)
	}
	if e.notName {
		h.cl[1] |= clNotName
	}
	if len(e.phrases) != 0 || e.cue != 0 || e.cl&clCounted != 0 {
		h.cl[0] |= clSlow
		h.cl[1] |= clSlow
	}
	return h
}

// prefix8 returns the first eight bytes of b[:n] (at most n of them) as a little-endian
// number, zero-padded. b must have eight bytes of capacity.
func prefix8(b []byte, n int) uint64 {
	x := binary.LittleEndian.Uint64(b[:8])
	if n < 8 {
		x &= 1<<(8*n) - 1
	}
	return x
}

// slot is one cell of the lookup table: the word's hash and its index in lex plus
// one (0 for an empty cell).
type slot struct {
	h, w uint32
}

// Sizes of the vocabulary's lookup table and the most words it holds (half full at most).
const (
	tableSize = 1 << 15
	maxWords  = tableSize / 2
)

// buildTable fills the open-addressing table from the word maps. The words are taken in
// sorted order so that the table is the same on every load.
func (v *vocab) buildTable() error {
	keys := make([]string, 0, len(v.words)+len(v.notName))
	for k := range v.words {
		keys = append(keys, k)
	}
	for k := range v.notName {
		if v.words[k] == nil {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if len(keys) > maxWords {
		return fmt.Errorf("vocabulary: %d words, the lookup table holds %d", len(keys), maxWords)
	}
	n := tableSize
	v.table, v.mask = make([]slot, n), uint32(n-1)
	v.lex = make([]lexeme, len(keys))
	v.hot = make([]hotLex, maxWords)
	for x, k := range keys {
		b := []byte(k)
		v.lex[x] = lexeme{key: k, notName: v.notName[k]}
		if e := v.words[k]; e != nil {
			v.lex[x].entry = *e
		}
		v.hot[x] = newHotLex(&v.lex[x])
		h := fnv32(b)
		i := h & v.mask
		for v.table[i].w != 0 {
			i = (i + 1) & v.mask
		}
		v.table[i] = slot{h: h, w: uint32(x + 1)}
	}
	return nil
}

// fnv32 is the 32-bit FNV-1a hash.
func fnv32(b []byte) uint32 {
	h := uint32(2166136261)
	for _, c := range b {
		h = (h ^ uint32(c)) * 16777619
	}
	return h
}

type stem struct {
	suffix string
	min    int
	cl     class
}

func loadVocab() (*vocab, error) {
	v := &vocab{words: make(map[string]*entry, 4096), notName: map[string]bool{}, org: map[string]bool{},
		notStem: map[string]bool{}}
	for _, w := range []string{"academia", "nostalgia", "sympathy", "empathy", "telepathy", "apathy",
		"dichotomy", "hypnosis", "osmosis", "symbiosis", "bohemia", "antipathy", "metamorphosis",
		"anatomy", "photosynthesis", "intercept", "trophy", "diploma", "oklahoma", "tacoma", "paloma",
		"sonoma", "naoma", "idioma", "aroma"} {
		v.notStem[w] = true
	}
	files := []struct {
		name string
		cl   class
	}{
		{"conditions.txt", clCondition}, {"icdterms.txt", clCondition}, {"symptoms.txt", clCondition}, {"drugs.txt", clDrug}, {"procedures.txt", clProcedure},
		{"specialties.txt", clSpecialty}, {"analytes.txt", clAnalyte}, {"notnames.txt", clNotName},
		{"orgwords.txt", clOrg},
	}
	for _, f := range files {
		data, err := dataFS.ReadFile("data/" + f.name)
		if err != nil {
			return nil, fmt.Errorf("vocabulary %s: %w", f.name, err)
		}
		eachLine(data, func(term string) { v.add(term, f.cl) })
	}
	// The medical words and drug names of the lexicon (ICD-10-CM descriptions, WordNet)
	// that the lists above do not know: the wording of mail the lists were not made from.
	for _, w := range lexicon.MedicalTerms() {
		v.addNew(w, clCondition)
	}
	for _, p := range lexicon.MedicalPhrases() {
		v.addNew(p, clCondition)
	}
	for _, w := range lexicon.DrugNames() {
		v.addNew(w, clDrug)
	}
	for cl, terms := range contextWords() {
		for _, t := range terms {
			v.add(t, cl)
		}
	}
	if err := v.loadStems(); err != nil {
		return nil, err
	}
	if err := v.loadCues(); err != nil {
		return nil, err
	}
	zh, err := loadZH()
	if err != nil {
		return nil, err
	}
	v.zh = zh
	if err := v.buildTable(); err != nil {
		return nil, err
	}
	return v, nil
}

func eachLine(data []byte, fn func(string)) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		fn(strings.ToLower(line))
	}
}

// splitTerm cuts a term into the words the tokenizer would produce.
func splitTerm(term string) []string {
	return strings.FieldsFunc(term, func(r rune) bool {
		return r == ' ' || r == '-' || r == '/' || r == '.' || r == ','
	})
}

// addNew adds a term of one word or a phrase unless its first word is already known.
func (v *vocab) addNew(term string, cl class) {
	first, _, _ := strings.Cut(term, " ")
	if v.words[first] != nil || v.notName[first] {
		return
	}
	v.add(term, cl)
}

func (v *vocab) add(term string, cl class) {
	v.addEntry(term, cl, 0)
}

// loadCues reads data/cues.txt: "group: word, phrase, ..." per line.
func (v *vocab) loadCues() error {
	data, err := dataFS.ReadFile("data/cues.txt")
	if err != nil {
		return fmt.Errorf("vocabulary cues.txt: %w", err)
	}
	var bad string
	eachLine(data, func(line string) {
		group, list, ok := strings.Cut(line, ":")
		id, known := cueID(strings.TrimSpace(group))
		if !ok || !known {
			bad = group
			return
		}
		for _, term := range strings.Split(list, ",") {
			if term = strings.TrimSpace(term); term != "" {
				v.addEntry(term, 0, 1<<(id-FirstCue))
			}
		}
	})
	if bad != "" {
		return fmt.Errorf("vocabulary cues.txt: unknown group %q", bad)
	}
	return nil
}

func (v *vocab) addEntry(term string, cl class, cue uint32) {
	words := splitTerm(term)
	if len(words) == 0 || len(words[0]) > 64 {
		return
	}
	if cl == clNotName || cl == clOrg {
		if len(words) == 1 {
			v.notName[words[0]] = true
			if cl == clOrg {
				v.org[words[0]] = true
			}
		}
		return
	}
	e := v.words[words[0]]
	if e == nil {
		e = &entry{}
		v.words[words[0]] = e
	}
	if len(words) == 1 {
		e.cl |= cl
		e.cue |= cue
		return
	}
	p := phrase{rest: words[1:], cl: cl, cue: cue}
	if len(p.rest[0]) != 1 || !isJoiner(p.rest[0][0]) {
		p.h1 = fnv32([]byte(p.rest[0]))
	}
	e.phrases = append(e.phrases, p)
}

func (v *vocab) loadStems() error {
	data, err := dataFS.ReadFile("data/stems.txt")
	if err != nil {
		return fmt.Errorf("vocabulary stems.txt: %w", err)
	}
	var bad string
	eachLine(data, func(line string) {
		kind, suffix, ok := strings.Cut(line, " ")
		if !ok || suffix == "" {
			return
		}
		if len(suffix) < 2 {
			bad = suffix
			return
		}
		s := stem{suffix: suffix, min: 6, cl: clCondition}
		if kind == "drug" {
			s.min, s.cl = 8, clDrug
		}
		k := suffixIndex(suffix)
		v.stems[k] = append(v.stems[k], s)
		v.stemAt[k/64] |= 1 << (k % 64)
	})
	if bad != "" {
		return fmt.Errorf("vocabulary stems.txt: suffix %q is shorter than two bytes", bad)
	}
	return nil
}

// suffixIndex is the index in vocab.stems of a word or suffix of at least two bytes.
func suffixIndex[T string | []byte](w T) int {
	return int(w[len(w)-2]&31)<<5 | int(w[len(w)-1]&31)
}

// stemClass returns the class a word gets from its ending, or 0.
func (v *vocab) stemClass(w []byte) class {
	if len(w) < 6 {
		return 0
	}
	for _, s := range v.stems[suffixIndex(w)] {
		if len(w) >= s.min && bytes.HasSuffix(w, []byte(s.suffix)) {
			if v.notStem[string(w)] {
				return 0
			}
			return s.cl
		}
	}
	return 0
}
