// Command icdterms derives the ICD-10-CM health vocabulary of package detect
// (data/icdterms.txt) from the CMS/NCHS ICD-10-CM order file kept in
// ../lexicon/gen/source/icd10cm-2021.tsv.gz. Run it from policy/detect:
//
//	go run ./internal/gen/icdterms > data/icdterms.txt
//
// Only chapters A-R are read (diseases, mental and behavioural disorders, pregnancy,
// congenital conditions, symptoms and findings); S-Z list injuries by body part,
// external causes and encounter reasons, whose words are everyday ones.
// A word is kept when it names a condition: it occurs in the descriptions of at least
// minCodes codes (so that typing errors and one-off proper names drop out), is at least
// five letters long, and is not one of the generic words of the classification
// ("unspecified", "subsequent", "encounter", laterality, anatomy of everyday speech).
package main

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"os"
	"sort"
	"strings"
	"unicode"
)

const minCodes = 3

// generic lists words of ICD-10-CM descriptions that say nothing about health in a
// message: the classification's own vocabulary, laterality and position, everyday
// nouns and verbs, and body parts that ordinary mail names too; and words that only look
// medical ("center", "foster", "outer" hold a medical root), or name a substance that is
// a medicine or an analyte rather than a condition ("insulin", "glucose").
var generic = strings.Fields(`
unspecified specified other classified elsewhere without initial subsequent sequela encounter
encounters routine healing delayed nonunion malunion unknown involving following affecting
associated related complicating complication complications condition conditions due using
right left bilateral unilateral upper lower anterior posterior lateral medial middle central
single multiple except extent degree first second third fourth fifth sixth seventh eighth
ninth tenth other person persons while being during after before between within under
caused causing cause status history family personal presence absence problems problem
examination contact exposure counseling screening observation supervision services service
place places activity activities accident accidents collision occupant driver passenger
vehicle vehicles traffic nontraffic pedestrian transport motor water watercraft aircraft
street highway railway building buildings house apartment school sports recreation
struck striking falling fallen fall stairs steps ladder chair furniture equipment machine
machinery object objects animal animals intentional undetermined accidental assault self
harm harmful other initial effect effects adverse underdosing poisoning external
hand hands foot feet head face neck back chest finger fingers thumb knee ankle wrist elbow
shoulder thigh lower arm forearm upper leg lower toe toes great lesser region regions part
parts site sites level levels portion surface surfaces area areas type types group form
forms stage stages phase acute chronic mild moderate severe simple complex total partial
complete incomplete open closed displaced nondisplaced minor major specified unspecified
single recurrent episode episodes current present state states because years months weeks
period periods degree degrees trimester trimesters pregnancy childbirth puerperium fetus
newborn maternal infant child children adult adolescent elderly male female women men
category note notes other class classes system systems organ organs tissue tissues
center centers chemical chemicals chemistry environmental foster hemisphere mechanism
mechanisms organism organisms outer scholastic spontaneous metabolism neuron neural systemic
endemic epidemic psychological insulin steroid lipid fructose galactose lactose glucose
glycine purine glycogen glycoprotein
`)

// Medical word-forming elements (Greek and Latin suffixes and roots). A word of the
// descriptions is kept only when it is built from one, so that everyday words of the
// descriptions ("dense", "night", "media") stay out.
var (
	suffixes = strings.Fields(`itis itides osis oses oma omas omata emia aemia pathy pathies plasia
		plasias trophy trophies algia algias ectomy otomy ostomy plasty scopy uria pnea pnoea cele rrhea
		rrhoea rrhage rrhagia iasis ism isms ismus ectasis ectasia megaly penia philia phobia plegia
		plegic paresis ptosis lysis sclerosis stenosis spasm spasms cytosis cytoses rrhaphy gram graphy
		genesis trophic pathic emic itic otic oid oids ose`)
	roots = strings.Fields(`cardi neur nephr hepat gastr enter colon derm oste arthr pulmon pneum
		bronch hem haem leuk lymph myel carcin cyst thromb encephal psych schizo mening angi vascul
		phleb ureth ureter urin prostat ovar uter cervic mamm mast thyr adren pancrea cholecyst
		chol glyc insulin diabet lipid myo myc fung bacter vir viral tuber syphil gonor chlamyd
		herpes hepatitis retin kerat ocul ophthalm otit laryng pharyng trache rhin sinus tonsil
		esophag duoden ileum ileal jejun hernia embol aneurysm arrhythm fibrill tachy brady hyper
		hypo dys neo necro fibro sarco melan derma lupus psoria ecz dement alzheim parkins epilep
		seiz autis anorex bulim depress schiz bipolar opioid alcohol cocaine cannabis amphetamine
		infect sepsis septic abort gestat obstet placent eclamp preterm anemi anaemi mening`)
)

func medicalShape(w string) bool {
	for _, s := range suffixes {
		if strings.HasSuffix(w, s) && len(w) > len(s)+2 {
			return true
		}
	}
	for _, r := range roots {
		if strings.Contains(w, r) {
			return true
		}
	}
	return false
}

func main() {
	f, err := os.Open("../lexicon/gen/source/icd10cm-2021.tsv.gz")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	skip := map[string]bool{}
	for _, w := range generic {
		skip[w] = true
	}
	codes := map[string]map[string]bool{}
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for first := true; sc.Scan(); first = false {
		cols := strings.Split(sc.Text(), "\t")
		if first || len(cols) < 4 || cols[0] == "" || cols[0][0] > 'R' {
			continue // chapters S-Z: injuries by body part, external causes, status codes
		}
		for _, w := range strings.FieldsFunc(strings.ToLower(cols[3]), func(r rune) bool { return !unicode.IsLetter(r) }) {
			if len(w) < 5 || skip[w] {
				continue
			}
			if codes[w] == nil {
				codes[w] = map[string]bool{}
			}
			codes[w][cols[0]] = true
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var words []string
	for w, c := range codes {
		if len(c) >= minCodes && medicalShape(w) {
			words = append(words, w)
		}
	}
	sort.Strings(words)
	fmt.Println("# Words of ICD-10-CM (FY2021) descriptions that name conditions; derived by")
	fmt.Println("# internal/gen/icdterms from policy/lexicon/gen/source/icd10cm-2021.tsv.gz (CMS/NCHS, public domain).")
	for _, w := range words {
		fmt.Println(w)
	}
}
