// Package lexicon holds vocabularies that sealgate's policy uses to recognise people, medical
// language and codes in mail: given names and surnames with their frequency ranks, names from
// many cultures, common English words, the ICD-10-CM code set, medical terms and phrases
// derived from the ICD-10-CM descriptions, and drug names.
//
// All data is public domain or permissively licensed (see README.md for each file's source,
// version and licence), derived once by the generator in gen/ and embedded in the binary, so
// that nothing is read from disk or the network at run time. Each vocabulary is decompressed
// and indexed the first time one of its functions is called; after that every lookup is a map
// access or a binary search, safe for concurrent use, and allocates nothing for lower-case
// input.
//
// Word lookups take one word. They are case-insensitive, but lower-case input is the fast
// path: other input is lower-cased first, which costs an allocation.
package lexicon

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"embed"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

//go:embed data
var files embed.FS

// Rank is a name's frequency rank in its list: 1 for the most common name, larger for rarer
// ones, and 0 when the word is not in the list.
type Rank int32

// GivenName returns w's rank among US given names: the Social Security Administration's
// baby names of 1880-2024 with at least 50 recorded births, ranked by births over all years
// and both sexes (mary 1, james 2, john 3, ...), followed by the few 1990 Census first names
// the SSA cut leaves out. About 51,600 names: "olivia" is 115, "jeanette" 458, "conner"
// 1,000, "keshon" 10,000 and "adhiraj" 50,000.
func GivenName(w string) Rank {
	n := nameTable()
	return Rank(n[lower(w)].given)
}

// Surname returns w's rank among the 88,799 surnames of the 1990 US Census (smith 1, johnson
// 2, williams 3, ...), which together cover about 90% of the population.
func Surname(w string) Rank {
	n := nameTable()
	return Rank(n[lower(w)].surname)
}

// OtherName reports whether w is a personal name from the multicultural list (names from
// many cultures, given names and family names alike) that is neither a given name nor a
// surname of the US lists above.
func OtherName(w string) bool {
	n := nameTable()
	return n[lower(w)].other
}

// Name reports whether w is a given name, a surname or a name of the multicultural list.
// Many names are also English words (will, rose, grace, brown, long, ...): see CommonWord and
// WordLevel to judge how ambiguous a name is.
func Name(w string) bool {
	_, ok := nameTable()[lower(w)]
	return ok
}

// CommonWord reports whether w is one of the about 11,000 most common English word forms
// (SCOWL sizes 10 and 20, inflections included: "will", "rose", "brown", "hope", "reading").
func CommonWord(w string) bool {
	l := wordTable()[lower(w)]
	return l > 0 && l <= 20
}

// WordLevel returns the SCOWL size of the smallest English word list that contains w — 10,
// 20, 35, 40 or 50, a smaller size meaning a more common word — or 0 when w is in none of
// them. Sizes 10 and 20 are the common words; 35 adds the words found in most dictionaries
// ("carol", "ruby", "diabetes"); 40 and 50 complete a standard spell-checking dictionary.
// American, British, Canadian and Australian spellings are all included.
func WordLevel(w string) int {
	return int(wordTable()[lower(w)])
}

// MedicalTerm reports whether w is a distinctive medical word: a word of the ICD-10-CM
// descriptions of diseases, injuries, symptoms and drug poisoning ("hypertension", "diabetes",
// "melanoma", "fracture", "mellitus") that is not a common English word, not a common given
// name or surname, and not one of the generic words of the code titles (unspecified, left,
// initial, encounter, sequela, ...). About 3,500 words.
func MedicalTerm(w string) bool {
	_, ok := medTable().terms[lower(w)]
	return ok
}

// MedicalPhrase reports whether the two words a and b, in that order, form a medical phrase
// whose words are not medical terms on their own: "heart failure", "kidney disease", "panic
// disorder", "hearing loss", "sexual abuse". About 140 phrases, from the ICD-10-CM
// descriptions.
func MedicalPhrase(a, b string) bool {
	_, ok := medTable().phrases[[2]string{lower(a), lower(b)}]
	return ok
}

// DrugName reports whether w is the name of a drug, generic or brand, or of a drug class:
// "atorvastatin", "lipitor", "metformin", "prozac", "warfarin", "insulin", "benzodiazepine".
// About 900 names from WordNet, which predates most drugs approved after 2006.
func DrugName(w string) bool {
	_, ok := drugTable()[lower(w)]
	return ok
}

// MedicalTerms returns every word MedicalTerm knows, sorted.
func MedicalTerms() []string { return sortedKeys(medTable().terms) }

// MedicalPhrases returns every phrase MedicalPhrase knows as "a b", sorted.
func MedicalPhrases() []string {
	out := make([]string, 0, len(medTable().phrases))
	for p := range medTable().phrases {
		out = append(out, p[0]+" "+p[1])
	}
	slices.Sort(out)
	return out
}

// DrugNames returns every name DrugName knows, sorted.
func DrugNames() []string { return sortedKeys(drugTable()) }

func sortedKeys(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// ICD10Code reports whether code is an ICD-10-CM (FY2021) code: a three-character category
// ("E11"), a subcategory ("E11.6") or a billable code ("E11.9", "S72.001A"). The dot after
// the third character may be left out ("E119"), and letters may be of either case; anything
// else around the code (spaces, a second dot, a dot elsewhere) makes it invalid.
func ICD10Code(code string) bool {
	_, ok := icdLookup(code)
	return ok
}

// ICD10Billable reports whether code is a billable (valid for claims) ICD-10-CM code, the most
// specific level of its branch: "E11.9" is billable, "E11" and "E11.6" are not.
func ICD10Billable(code string) bool {
	billable, ok := icdLookup(code)
	return ok && billable
}

// lower returns w in lower case, without allocating when it is lower case already.
func lower(w string) string {
	for i := 0; i < len(w); i++ {
		c := w[i]
		if 'A' <= c && c <= 'Z' {
			return strings.ToLower(w)
		}
		if c >= utf8.RuneSelf {
			for _, r := range w[i:] {
				if unicode.IsUpper(r) || r == utf8.RuneError {
					return strings.ToLower(w)
				}
			}
			return w
		}
	}
	return w
}

// readData returns the content of one embedded data file, decompressed when its name ends
// in .gz. The embedded files are part of the build, so an error here is a broken build.
func readData(name string) string {
	b, err := files.ReadFile("data/" + name)
	if err != nil {
		panic("lexicon: " + err.Error())
	}
	if strings.HasSuffix(name, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			panic("lexicon: " + name + ": " + err.Error())
		}
		if b, err = io.ReadAll(zr); err != nil {
			panic("lexicon: " + name + ": " + err.Error())
		}
	}
	return string(b)
}

// eachLine calls f with every non-empty line of s; the lines share s's memory.
func eachLine(s string, f func(line string)) {
	for len(s) > 0 {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			i = len(s)
		}
		if line := s[:i]; line != "" {
			f(line)
		}
		if i == len(s) {
			break
		}
		s = s[i+1:]
	}
}

// names is the entry of one word in the name table.
type names struct {
	given, surname int32
	other          bool
}

var nameTable = sync.OnceValue(loadNames)

func loadNames() map[string]names {
	m := make(map[string]names, 125_000)
	// rankAll gives each word of a list its rank there (1 is the most
	// common), keeping the first where a word stands twice.
	rankAll := func(list string, rank func(*names) *int32) {
		n := int32(0)
		eachLine(readData(list), func(w string) {
			n++
			e := m[w]
			if r := rank(&e); *r == 0 {
				*r = n
			}
			m[w] = e
		})
	}
	rankAll("given.txt.gz", func(e *names) *int32 { return &e.given })
	rankAll("surnames.txt.gz", func(e *names) *int32 { return &e.surname })
	eachLine(readData("othernames.txt.gz"), func(w string) {
		e := m[w]
		e.other = e.given == 0 && e.surname == 0
		m[w] = e
	})
	return m
}

var wordTable = sync.OnceValue(loadWords)

func loadWords() map[string]uint8 {
	m := make(map[string]uint8, 64_000)
	level := uint8(0)
	eachLine(readData("words.txt.gz"), func(line string) {
		if line[0] == '#' {
			n, err := strconv.Atoi(line[1:])
			if err != nil || n <= 0 || n > 255 {
				panic("lexicon: words.txt.gz: bad level line " + strconv.Quote(line))
			}
			level = uint8(n)
			return
		}
		if _, ok := m[line]; !ok {
			m[line] = level
		}
	})
	return m
}

// medical holds the medical terms and phrases.
type medical struct {
	terms   map[string]struct{}
	phrases map[[2]string]struct{}
}

var medTable = sync.OnceValue(loadMedical)

func loadMedical() medical {
	med := medical{terms: map[string]struct{}{}, phrases: map[[2]string]struct{}{}}
	eachLine(readData("medterms.txt"), func(w string) { med.terms[w] = struct{}{} })
	eachLine(readData("medphrases.txt"), func(p string) {
		a, b, ok := strings.Cut(p, " ")
		if !ok {
			panic("lexicon: medphrases.txt: not two words: " + strconv.Quote(p))
		}
		med.phrases[[2]string{a, b}] = struct{}{}
	})
	return med
}

var drugTable = sync.OnceValue(loadDrugs)

func loadDrugs() map[string]struct{} {
	m := map[string]struct{}{}
	eachLine(readData("drugs.txt"), func(w string) { m[w] = struct{}{} })
	return m
}

// ICD-10-CM codes are kept as sorted uint64s: the code without its dot in the seven high
// bytes (left-aligned, zero-padded, so that numeric order is the codes' order) and 1 in the
// low byte when the code is billable.
var icdTable = sync.OnceValue(loadICD)

func loadICD() []uint64 {
	codes := make([]uint64, 0, 96_000)
	sc := bufio.NewScanner(strings.NewReader(readData("icd10cm.txt.gz")))
	for sc.Scan() {
		line := sc.Text()
		billable := !strings.HasSuffix(line, "*")
		key, ok := packICD(strings.TrimSuffix(line, "*"))
		if !ok {
			panic("lexicon: icd10cm.txt.gz: bad code " + strconv.Quote(line))
		}
		if billable {
			key |= 1
		}
		codes = append(codes, key)
	}
	slices.Sort(codes)
	return codes
}

func icdLookup(code string) (billable, ok bool) {
	key, ok := packICD(code)
	if !ok {
		return false, false
	}
	codes := icdTable()
	lo, hi := 0, len(codes)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if codes[mid] < key {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo < len(codes) && codes[lo]>>8 == key>>8 {
		return codes[lo]&1 == 1, true
	}
	return false, false
}

// packICD turns a code of 3 to 7 letters and digits, with or without a dot after the third
// character, into its table key (low byte zero). It checks the shape only: a letter, then a
// digit, then letters and digits.
func packICD(code string) (uint64, bool) {
	var key uint64
	n := 0
	for i := 0; i < len(code); i++ {
		c := code[i]
		if c == '.' {
			if i != 3 || len(code) == 4 {
				return 0, false
			}
			continue
		}
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		letter := 'A' <= c && c <= 'Z'
		digit := '0' <= c && c <= '9'
		switch {
		case n == 7, n == 0 && !letter, n == 1 && !digit, !letter && !digit:
			return 0, false
		}
		key = key<<8 | uint64(c)
		n++
	}
	if n < 3 {
		return 0, false
	}
	return key << (8 * (8 - n)), true
}
