package detect

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.json from the current detectors")

const goldenFile = "testdata/golden.json"

// goldenEntry is what Scan made of one input: the counts (with header names, a Bag and a
// Trace), the counts without any options when they differ, and digests of the bag (bucket
// and count, in first-touch order) and of the ordered trace events.
type goldenEntry struct {
	Name   string           `json:"name"`
	Counts map[string]int32 `json:"counts"`
	Bare   map[string]int32 `json:"bare,omitempty"`
	Bag    string           `json:"bag"`
	Bucket int              `json:"buckets"`
	Trace  string           `json:"trace"`
	Events int              `json:"events"`
}

// TestGolden pins the detectors' output over the labelled corpora and hostile synthetic
// texts, so that work on their speed cannot change what they find. Regenerate with
// `go test ./policy/detect -run TestGolden -update` only when a change of output is meant.
func TestGolden(t *testing.T) {
	inputs := goldenInputs(t)
	got := make([]goldenEntry, 0, len(inputs))
	for _, in := range inputs {
		got = append(got, goldenScan(t, in))
	}
	if *update {
		writeGolden(t, got)
		return
	}
	data, err := os.ReadFile(goldenFile)
	if err != nil {
		t.Fatalf("%v (generate it with -update)", err)
	}
	var want []goldenEntry
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatalf("%s: %v", goldenFile, err)
	}
	if len(want) != len(got) {
		t.Fatalf("%d inputs, golden file has %d", len(got), len(want))
	}
	bad := 0
	for i := range got {
		g, w := mustJSON(t, got[i]), mustJSON(t, want[i])
		if g != w {
			if bad++; bad <= 10 {
				t.Errorf("output changed:\n got %s\nwant %s", g, w)
			}
		}
	}
	if bad > 10 {
		t.Errorf("... %d inputs changed in all", bad)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeGolden(t *testing.T, entries []goldenEntry) {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("[\n")
	for i, e := range entries {
		b.WriteString(mustJSON(t, e))
		if i < len(entries)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("]\n")
	if err := os.MkdirAll(filepath.Dir(goldenFile), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(goldenFile, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d inputs)", goldenFile, len(entries))
}

type goldenInput struct {
	name       string
	text       []byte
	recipients map[string]bool
	senders    map[string]bool
}

// goldenScan runs Scan over one input twice: with header names, a Bag and a Trace, and
// with no options at all.
func goldenScan(t *testing.T, in goldenInput) goldenEntry {
	t.Helper()
	a := analyzer(t)
	bag := NewBag(1 << 14)
	trace := sha256.New()
	events := 0
	opt := &Options{Recipients: in.recipients, Senders: in.senders, Bag: bag,
		Trace: func(id ID, start, end int) {
			var rec [9]byte
			rec[0] = byte(id)
			binary.LittleEndian.PutUint32(rec[1:], uint32(start))
			binary.LittleEndian.PutUint32(rec[5:], uint32(end))
			trace.Write(rec[:])
			events++
		}}
	var c, bare Counts
	if err := a.Scan(context.Background(), in.text, opt, &c); err != nil {
		t.Fatalf("%s: %v", in.name, err)
	}
	if err := a.Scan(context.Background(), in.text, nil, &bare); err != nil {
		t.Fatalf("%s: %v", in.name, err)
	}
	e := goldenEntry{Name: in.name, Counts: countMap(&c), Bucket: len(bag.Touched), Events: events,
		Trace: hex.EncodeToString(trace.Sum(nil))[:32], Bag: bagDigest(t, in.name, bag)}
	if bare != c {
		e.Bare = countMap(&bare)
	}
	return e
}

func countMap(c *Counts) map[string]int32 {
	m := map[string]int32{}
	for id, n := range c {
		if n != 0 {
			m[ID(id).String()] = n
		}
	}
	return m
}

// bagDigest hashes the bag's buckets in first-touch order with their counts, and checks
// that every counted bucket was recorded as touched.
func bagDigest(t *testing.T, name string, bag *Bag) string {
	h := sha256.New()
	seen := 0
	for _, k := range bag.Touched {
		var rec [8]byte
		binary.LittleEndian.PutUint32(rec[0:], k)
		binary.LittleEndian.PutUint32(rec[4:], uint32(bag.Counts[k]))
		h.Write(rec[:])
	}
	for _, n := range bag.Counts {
		if n != 0 {
			seen++
		}
	}
	if seen != len(bag.Touched) {
		t.Errorf("%s: %d buckets counted, %d recorded as touched", name, seen, len(bag.Touched))
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// goldenInputs returns every message of the labelled corpora as raw text, with the
// person names of its From and To/Cc headers, then synthetic texts.
func goldenInputs(t testing.TB) []goldenInput {
	t.Helper()
	var out []goldenInput
	var all bytes.Buffer
	for _, dir := range []string{"phi-train", "phi-dev"} {
		files, err := filepath.Glob(filepath.Join("..", "..", "testdata", dir, "*.eml"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no messages in testdata/%s: %v", dir, err)
		}
		slices.Sort(files)
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			rcpt, send := headerNames(analyzer(t), data)
			out = append(out, goldenInput{name: dir + "/" + filepath.Base(f), text: data, recipients: rcpt, senders: send})
			all.Write(data)
		}
	}
	out = append(out, goldenInput{name: "all messages", text: all.Bytes(),
		recipients: map[string]bool{"jordan": true, "anouk": true}, senders: map[string]bool{"dana": true}})
	for _, s := range syntheticTexts(t) {
		out = append(out, goldenInput{name: s.name, text: s.text,
			recipients: map[string]bool{"wren": true, "tolliver": true}, senders: map[string]bool{"karsten": true, "uhlmann": true}})
	}
	return out
}

// headerNames reads the display names of From (senders) and To/Cc (recipients) from the
// header of a raw message, without unfolding or decoding.
func headerNames(a *Analyzer, msg []byte) (rcpt, send map[string]bool) {
	rcpt, send = map[string]bool{}, map[string]bool{}
	head, _, _ := bytes.Cut(msg, []byte("\n\n"))
	for _, line := range strings.Split(string(head), "\n") {
		field, value, ok := strings.Cut(strings.TrimRight(line, "\r"), ":")
		if !ok {
			continue
		}
		var m map[string]bool
		switch strings.ToLower(field) {
		case "from":
			m = send
		case "to", "cc":
			m = rcpt
		default:
			continue
		}
		for _, addr := range strings.Split(value, ">,") {
			display, _, _ := strings.Cut(addr, "<")
			for _, w := range a.PersonName(strings.TrimSpace(display)) {
				m[w] = true
			}
		}
	}
	return rcpt, send
}

type synthetic struct {
	name string
	text []byte
}

// syntheticTexts are hostile and dense inputs: long lines, binary bytes, CJK, a run of
// digits, overlong words, and word soups drawn from the vocabularies with names, numbers
// and punctuation, in several seeds.
func syntheticTexts(t testing.TB) []synthetic {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	var out []synthetic
	add := func(name string, b []byte) { out = append(out, synthetic{name, b}) }

	typical := "Hi Jordan, thanks for the update on the quarterly review. The clinic volumes " +
		"look steady and the new scheduling workflow saved about 2 hours per week. Please send " +
		"the revised budget by Friday, 10/14, and copy Priya on the vendor contract (ref 4471-22). " +
		"We still need to finish the training plan for the front desk and the parking update.\n"
	add("typical 20 KB", []byte(strings.Repeat(typical, 20<<10/len(typical)+1)[:20<<10]))
	add("long line", []byte(strings.Repeat("Patient Ann Lee has asthma and takes 20 mg lisinopril; DOB 02/28/1976 ", 3000)))
	add("100k digits", bytes.Repeat([]byte("0123456789"), 10000))
	add("digits with separators", []byte(strings.Repeat("123-45-6789 4111 1111 1111 1111 1514112907 94938-2219-8 ", 2000)))
	bin := make([]byte, 200<<10)
	for i := range bin {
		bin[i] = byte(rng.Uint32())
	}
	add("binary", bin)
	add("NUL and control bytes", bytes.Repeat([]byte("asthma\x00\x01Ann\x7fLee\x1b[0m\xff\xfe diabetes\r\r\n"), 5000))
	add("overlong words", []byte(strings.Repeat(strings.Repeat("a", 70)+" "+strings.Repeat("Z", 65)+" "+strings.Repeat("é", 40)+" ", 500)))
	var zh []string
	data, err := dataFS.ReadFile("data/zh.txt")
	if err != nil {
		t.Fatal(err)
	}
	eachLine(data, func(line string) {
		_, term, _ := strings.Cut(line, " ")
		zh = append(zh, term)
	})
	var cjk strings.Builder
	for cjk.Len() < 100<<10 {
		cjk.WriteString(zh[rng.IntN(len(zh))])
		cjk.WriteString([]string{"，", "。", "的", "患者张三 ", "2024年3月", " Patient Lee ", "\n"}[rng.IntN(7)])
	}
	add("CJK", []byte(cjk.String()))
	pool := wordPool(t)
	for seed := range uint64(6) {
		add(fmt.Sprintf("word soup %d", seed), wordSoup(rand.New(rand.NewPCG(seed, 7)), pool, 120<<10))
	}
	return out
}

// wordPool is every word and phrase of the data files and the context vocabulary,
// sorted, with made-up words for the stems. It reads the files rather than the loaded
// vocabulary so that the inputs stay the same whatever the vocabulary's layout.
func wordPool(t testing.TB) []string {
	var pool []string
	files, err := dataFS.ReadDir("data")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		data, err := dataFS.ReadFile("data/" + f.Name())
		if err != nil {
			t.Fatal(err)
		}
		eachLine(data, func(line string) {
			switch f.Name() {
			case "zh.txt":
			case "stems.txt":
				_, suffix, _ := strings.Cut(line, " ")
				pool = append(pool, "zanto"+suffix, "ab"+suffix)
			case "cues.txt":
				_, list, _ := strings.Cut(line, ":")
				for _, w := range strings.Split(list, ",") {
					pool = append(pool, strings.TrimSpace(w))
				}
			default:
				pool = append(pool, line)
			}
		})
	}
	for _, terms := range contextWords() {
		pool = append(pool, terms...)
	}
	pool = slices.DeleteFunc(pool, func(w string) bool { return w == "" })
	slices.Sort(pool)
	return slices.Compact(pool)
}

// wordSoup writes about n bytes of random vocabulary words, capitalised and upper-case
// words, names, numbers in identifier and date shapes, and punctuation.
func wordSoup(r *rand.Rand, pool []string, n int) []byte {
	names := []string{"Ann", "Lee", "Wren", "Tolliver", "Anouk", "McDonald", "O'Brien", "Nightingale-Ross",
		"Karsten", "Uhlmann", "José", "Ñúñez", "Zoë", "Jordan", "Priya", "DeShawn", "A", "J."}
	seps := []string{" ", " ", " ", " ", "  ", ", ", ". ", ": ", "\n", "\r\n", "-", "/", ".", " (", ") ",
		"'s ", " - ", "; ", "! ", "? ", "#", "%", " | ", "\t", "\u00a0", "…", "’"}
	var b bytes.Buffer
	for b.Len() < n {
		switch k := r.IntN(20); {
		case k < 11:
			w := pool[r.IntN(len(pool))]
			switch r.IntN(4) {
			case 0:
				w = strings.ToUpper(w[:1]) + w[1:]
			case 1:
				w = strings.ToUpper(w)
			}
			b.WriteString(w)
		case k < 14:
			b.WriteString(names[r.IntN(len(names))])
		case k < 18:
			b.WriteString(randomNumber(r))
		default:
			b.WriteString([]string{"I have", "my", "your", "Patient:", "PATIENT NAME:", "DOB", "Dear", "Hi",
				"Dr.", "MRN", "Member ID", "SSN", "NPI", "NDC", "Dx:", "cell", "ship to", "average", "mg", "%",
				"PID|1||123^^^X^MR||DOE^JANE||19700101|F\r", "OBX|1|NM|2132-9^B12^LN||140|pg/mL\n", "患者", "MD", ", MD"}[r.IntN(25)])
		}
		b.WriteString(seps[r.IntN(len(seps))])
	}
	return b.Bytes()
}

func randomNumber(r *rand.Rand) string {
	d := func(n int) string {
		var s strings.Builder
		for range n {
			s.WriteByte(byte('0' + r.IntN(10)))
		}
		return s.String()
	}
	switch r.IntN(14) {
	case 0:
		return d(3) + "-" + d(2) + "-" + d(4)
	case 1:
		return d(9)
	case 2:
		return d(10)
	case 3:
		return d(4) + " " + d(4) + " " + d(4) + " " + d(4)
	case 4:
		return "4" + d(15)
	case 5:
		return d(1+r.IntN(2)) + "/" + d(1+r.IntN(2)) + "/" + []string{"19", "20"}[r.IntN(2)] + d(2)
	case 6:
		return "19" + d(2) + "-" + d(2) + "-" + d(2)
	case 7:
		return d(5) + "-" + d(4) + "-" + d(1+r.IntN(2))
	case 8:
		return string(rune('A'+r.IntN(26))) + d(2) + "." + d(1+r.IntN(3))
	case 9:
		return d(1) + "EG4-TE5-MK" + d(2)
	case 10:
		return "AB" + d(7)
	case 11:
		return d(1+r.IntN(3)) + "." + d(1)
	case 12:
		return d(1+r.IntN(2)) + []string{"st", "nd", "rd", "th"}[r.IntN(4)]
	}
	return d(1 + r.IntN(20))
}
