package lexicon

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
)

func TestGivenName(t *testing.T) {
	for _, c := range []struct {
		w        string
		min, max Rank
	}{
		{"james", 1, 1},
		{"mary", 1, 10},
		{"olivia", 50, 200},
		{"liam", 100, 400},
		{"Mary", 1, 10}, // case-insensitive
		{"MARY", 1, 10},
		{"jeanette", 300, 600},
		{"adhiraj", 40_000, 52_000},
	} {
		if r := GivenName(c.w); r < c.min || r > c.max {
			t.Errorf("GivenName(%q) = %d, want %d..%d", c.w, r, c.min, c.max)
		}
	}
	for _, w := range []string{"", "xqzzyv", "hypertension", "e11.9", "mary smith"} {
		if r := GivenName(w); r != 0 {
			t.Errorf("GivenName(%q) = %d, want 0", w, r)
		}
	}
}

func TestSurname(t *testing.T) {
	for _, c := range []struct {
		w        string
		min, max Rank
	}{
		{"smith", 1, 1},
		{"johnson", 2, 2},
		{"brown", 5, 5},
		{"garcia", 10, 30},
		{"nguyen", 100, 400},
		{"Nguyen", 100, 400},
	} {
		if r := Surname(c.w); r < c.min || r > c.max {
			t.Errorf("Surname(%q) = %d, want %d..%d", c.w, r, c.min, c.max)
		}
	}
	for _, w := range []string{"", "xqzzyv", "mellitus", "unspecified"} {
		if r := Surname(w); r != 0 {
			t.Errorf("Surname(%q) = %d, want 0", w, r)
		}
	}
}

func TestOtherAndAnyName(t *testing.T) {
	for _, w := range []string{"björn", "Björn", "agustín", "adhikari", "raghavan", "amponsah"} {
		if !OtherName(w) || !Name(w) {
			t.Errorf("OtherName(%q) = %v, Name = %v, want true, true", w, OtherName(w), Name(w))
		}
	}
	// On the US lists, so not an "other" name.
	for _, w := range []string{"john", "smith", "olivia"} {
		if OtherName(w) || !Name(w) {
			t.Errorf("OtherName(%q) = %v, Name = %v, want false, true", w, OtherName(w), Name(w))
		}
	}
	for _, w := range []string{"", "arm's", "xqzzyv", "hypertension", "atorvastatin"} {
		if Name(w) || OtherName(w) {
			t.Errorf("Name(%q) = %v, OtherName = %v, want false, false", w, Name(w), OtherName(w))
		}
	}
}

func TestWords(t *testing.T) {
	// Names that are also common words: a caller sees both.
	for _, w := range []string{"will", "rose", "bill", "young", "white", "may", "hope", "grace", "brown", "black", "long", "love", "Hope"} {
		if !CommonWord(w) {
			t.Errorf("CommonWord(%q) = false", w)
		}
		if !Name(w) {
			t.Errorf("Name(%q) = false", w)
		}
	}
	for _, w := range []string{"", "diabetes", "hypertension", "atorvastatin", "xqzzyv", "jennifer", "smith's"} {
		if CommonWord(w) {
			t.Errorf("CommonWord(%q) = true", w)
		}
	}
	for _, c := range []struct {
		w     string
		level int
	}{
		{"the", 10}, {"brown", 10}, {"grace", 20}, {"carol", 35}, {"diabetes", 35},
		{"melanoma", 50}, {"colour", 10}, {"jennifer", 0}, {"atorvastatin", 0}, {"", 0},
	} {
		if l := WordLevel(c.w); l != c.level {
			t.Errorf("WordLevel(%q) = %d, want %d", c.w, l, c.level)
		}
	}
}

func TestMedicalTerm(t *testing.T) {
	for _, w := range []string{
		"hypertension", "diabetes", "mellitus", "melanoma", "fracture", "carcinoma", "neoplasm",
		"pneumonia", "asthma", "schizophrenia", "hiv", "covid", "chemotherapy", "dialysis",
		"hyperlipidemia", "Hypertension", "crohn", "alzheimer",
	} {
		if !MedicalTerm(w) {
			t.Errorf("MedicalTerm(%q) = false", w)
		}
	}
	for _, w := range []string{
		"", "left", "right", "unspecified", "specified", "other", "type", "with", "without",
		"initial", "encounter", "subsequent", "sequela", "due", "the", "disease", "heart",
		"chronic", "tissue", "lateral", "harris", "wilson", "anderson", "etc", "iii", "alk",
		"atorvastatin", "xqzzyv",
	} {
		if MedicalTerm(w) {
			t.Errorf("MedicalTerm(%q) = true", w)
		}
	}
}

func TestMedicalPhrase(t *testing.T) {
	for _, p := range [][2]string{
		{"heart", "failure"}, {"kidney", "disease"}, {"panic", "disorder"}, {"hearing", "loss"},
		{"sexual", "abuse"}, {"Heart", "Failure"},
	} {
		if !MedicalPhrase(p[0], p[1]) {
			t.Errorf("MedicalPhrase(%q, %q) = false", p[0], p[1])
		}
	}
	for _, p := range [][2]string{
		{"failure", "heart"}, {"left", "arm"}, {"initial", "encounter"}, {"heart", ""}, {"", ""},
		{"guillain", "barre"},
	} {
		if MedicalPhrase(p[0], p[1]) {
			t.Errorf("MedicalPhrase(%q, %q) = true", p[0], p[1])
		}
	}
}

func TestDrugName(t *testing.T) {
	for _, w := range []string{
		"atorvastatin", "lipitor", "metformin", "prozac", "fluoxetine", "warfarin", "insulin",
		"ibuprofen", "lisinopril", "sertraline", "codeine", "methadone", "Xanax",
		"benzodiazepine",
	} {
		if !DrugName(w) {
			t.Errorf("DrugName(%q) = false", w)
		}
	}
	for _, w := range []string{"", "pill", "speed", "medicine", "max", "weed", "beer", "whiskey", "tobacco", "diabetes", "xqzzyv"} {
		if DrugName(w) {
			t.Errorf("DrugName(%q) = true", w)
		}
	}
}

func TestICD10Code(t *testing.T) {
	for _, c := range []struct {
		code            string
		valid, billable bool
	}{
		{"E11.9", true, true},
		{"E119", true, true},
		{"e11.9", true, true},
		{"E11", true, false},
		{"E11.6", true, false},
		{"E11.65", true, true},
		{"S72.001A", true, true},
		{"S72001A", true, true},
		{"E11.37X1", true, true},
		{"U07.1", true, true},
		{"Z00.00", true, true},
		{"C4A", true, false},
		{"I10", true, true},

		{"E11.99X", false, false},
		{"E11.99", false, false},
		{"E11.", false, false},
		{"E11..9", false, false},
		{"E1.19", false, false},
		{"E119.", false, false},
		{".E119", false, false},
		{"E1", false, false},
		{"E", false, false},
		{"", false, false},
		{"11.9", false, false},
		{"EE1.9", false, false},
		{" E11.9", false, false},
		{"E11.9 ", false, false},
		{"E11-9", false, false},
		{"S72.001AA", false, false},
		{"S72001AA", false, false},
		{"Ä11.9", false, false},
		{"A00.3", false, false}, // A00 has .0, .1 and .9 only
	} {
		if got := ICD10Code(c.code); got != c.valid {
			t.Errorf("ICD10Code(%q) = %v, want %v", c.code, got, c.valid)
		}
		if got := ICD10Billable(c.code); got != c.billable {
			t.Errorf("ICD10Billable(%q) = %v, want %v", c.code, got, c.billable)
		}
	}
}

// TestCounts guards against a regeneration that silently loses most of a list.
func TestCounts(t *testing.T) {
	med := medTable()
	for _, c := range []struct {
		name     string
		n        int
		min, max int
	}{
		{"names", len(nameTable()), 120_000, 140_000},
		{"words", len(wordTable()), 55_000, 70_000},
		{"ICD-10-CM codes", len(icdTable()), 95_358, 95_358},
		{"medical terms", len(med.terms), 3_000, 4_500},
		{"medical phrases", len(med.phrases), 100, 200},
		{"drug names", len(drugTable()), 800, 1_100},
	} {
		if c.n < c.min || c.n > c.max {
			t.Errorf("%s: %d entries, want %d..%d", c.name, c.n, c.min, c.max)
		}
	}
	given, surnames, other, common := 0, 0, 0, 0
	for _, e := range nameTable() {
		if e.given > 0 {
			given++
		}
		if e.surname > 0 {
			surnames++
		}
		if e.other {
			other++
		}
	}
	for _, l := range wordTable() {
		if l <= 20 {
			common++
		}
	}
	t.Logf("given names %d, surnames %d, other names %d, English words %d (common %d), ICD-10-CM codes %d, medical terms %d, phrases %d, drug names %d",
		given, surnames, other, len(wordTable()), common, len(icdTable()), len(med.terms), len(med.phrases), len(drugTable()))
	if given < 50_000 || surnames != 88_799 || other < 1_000 || common < 10_000 {
		t.Errorf("given %d, surnames %d, other %d, common words %d: a list is short", given, surnames, other, common)
	}
}

// TestMemory loads every table afresh and checks that together they stay well under 30 MB
// of heap.
func TestMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("loads every table again")
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	n, w, m, d, i := loadNames(), loadWords(), loadMedical(), loadDrugs(), loadICD()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive([]any{n, w, m, d, i})
	mb := float64(after.HeapAlloc-before.HeapAlloc) / (1 << 20)
	t.Logf("all tables: %.1f MB of heap", mb)
	if mb > 30 {
		t.Errorf("tables take %.1f MB of heap, want < 30", mb)
	}
}

func TestConcurrentFirstUse(t *testing.T) {
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < 100; k++ {
				if GivenName("mary") == 0 || Surname("smith") != 1 || !CommonWord("will") ||
					!MedicalTerm("diabetes") || !MedicalPhrase("heart", "failure") ||
					!DrugName("metformin") || !ICD10Code("E11.9") {
					t.Error("lookup failed under concurrent use")
					return
				}
			}
		}()
	}
	wg.Wait()
}

func ExampleGivenName() {
	fmt.Println(GivenName("mary") > 0, GivenName("hypertension"))
	// Output: true 0
}

func ExampleICD10Code() {
	fmt.Println(ICD10Code("E11.9"), ICD10Code("e119"), ICD10Code("E11"), ICD10Code("E11.99X"))
	fmt.Println(ICD10Billable("E11.9"), ICD10Billable("E11"))
	// Output:
	// true true true false
	// true false
}

var sink bool
var sinkRank Rank

func BenchmarkGivenName(b *testing.B) {
	GivenName("")
	words := []string{"mary", "jeanette", "xqzzyv", "hypertension"}
	for i := 0; b.Loop(); i++ {
		sinkRank = GivenName(words[i&3])
	}
}

func BenchmarkSurname(b *testing.B) {
	Surname("")
	words := []string{"smith", "nguyen", "xqzzyv", "unspecified"}
	for i := 0; b.Loop(); i++ {
		sinkRank = Surname(words[i&3])
	}
}

func BenchmarkCommonWord(b *testing.B) {
	CommonWord("")
	words := []string{"will", "diabetes", "xqzzyv", "brown"}
	for i := 0; b.Loop(); i++ {
		sink = CommonWord(words[i&3])
	}
}

func BenchmarkMedicalTerm(b *testing.B) {
	MedicalTerm("")
	words := []string{"hypertension", "left", "melanoma", "the"}
	for i := 0; b.Loop(); i++ {
		sink = MedicalTerm(words[i&3])
	}
}

func BenchmarkMedicalPhrase(b *testing.B) {
	MedicalPhrase("", "")
	for b.Loop() {
		sink = MedicalPhrase("heart", "failure")
	}
}

func BenchmarkDrugName(b *testing.B) {
	DrugName("")
	words := []string{"metformin", "pill", "lipitor", "xqzzyv"}
	for i := 0; b.Loop(); i++ {
		sink = DrugName(words[i&3])
	}
}

func BenchmarkICD10Code(b *testing.B) {
	ICD10Code("")
	codes := []string{"E11.9", "S72001A", "E11.99X", "Z00.00"}
	for i := 0; b.Loop(); i++ {
		sink = ICD10Code(codes[i&3])
	}
}

// BenchmarkMixedCase measures the slow path: input that has to be lower-cased first.
func BenchmarkMixedCase(b *testing.B) {
	GivenName("")
	for b.Loop() {
		sinkRank = GivenName("Jeanette")
	}
}

func BenchmarkLoadAll(b *testing.B) {
	for b.Loop() {
		loadNames()
		loadWords()
		loadMedical()
		loadDrugs()
		loadICD()
	}
}

func TestLower(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"mary", "mary"}, {"Mary", "mary"}, {"björn", "björn"}, {"BJÖRN", "björn"}, {"Björn", "björn"}, {"", ""},
	} {
		if got := lower(c.in); got != c.want {
			t.Errorf("lower(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { OtherName("björn") }); n != 0 {
		t.Errorf("OtherName(\"björn\") allocates %v times, want 0", n)
	}
}
