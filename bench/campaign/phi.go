package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
)

// Synthetic patients: names are drawn from these lists and numbers from the
// message number, so no notice names a real person's record.
var (
	givenNames  = []string{"Maria", "James", "Aiko", "Oluwaseun", "Ingrid", "Rafael", "Priya", "Tomasz", "Fatima", "Liam", "Sofia", "Dmitri", "Grace", "Mateo", "Hannah", "Kwame"}
	familyNames = []string{"Lindqvist", "Okafor", "Haverford", "Castellano", "Nakamura", "Brennan", "Volkova", "Adeyemi", "Marchetti", "Holloway", "Szymanski", "Delacroix", "Achterberg", "Quintero"}
	diagnoses   = []struct{ text, code string }{
		{"type 2 diabetes mellitus without complications", "E11.9"},
		{"essential (primary) hypertension", "I10"},
		{"chronic obstructive pulmonary disease", "J44.9"},
		{"major depressive disorder, single episode", "F32.9"},
		{"iron deficiency anaemia", "D50.9"},
		{"hypothyroidism", "E03.9"},
		{"chronic kidney disease, stage 3", "N18.30"},
		{"asthma, mild persistent", "J45.30"},
	}
)

// phiShare is one campaign message in phiShare that is a personal notice
// with PHI (10 %).
const phiShare = 10

// isPHI reports whether campaign message i is a PHI notice.
func isPHI(i int) bool { return i%phiShare == phiShare-1 }

// phiCount is how many of n campaign messages are PHI notices.
func phiCount(n int) int { return n / phiShare }

// phiNotice is campaign message i as a personalised results and
// appointment notice: the patient's name, date of birth, MRN, a diagnosis
// with its ICD-10 code and a lab value, padded to 5 to 20 KB with clinic
// information like the newsletters.
func phiNotice(o options, i int, rng *rand.Rand) (string, []byte) {
	rcpt := fmt.Sprintf("member%d@d%d.bench.invalid", i, i%o.domains)
	name := givenNames[rng.IntN(len(givenNames))] + " " + familyNames[rng.IntN(len(familyNames))]
	dob := fmt.Sprintf("%02d/%02d/%d", 1+rng.IntN(12), 1+rng.IntN(28), 1935+rng.IntN(70))
	mrn := fmt.Sprintf("MRN %08d", 10_000_000+(i*7919)%90_000_000)
	dx := diagnoses[rng.IntN(len(diagnoses))]
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: Clinic Results <%s>\r\nTo: %s <%s>\r\nSubject: Your test results and next appointment\r\n"+
		"Message-ID: <phi-%d@clinic.bench.invalid>\r\nX-Bench-ID: phi-%d\r\nMIME-Version: 1.0\r\n"+
		"Content-Type: text/plain; charset=utf-8\r\n\r\n", o.from, name, rcpt, i, i)
	fmt.Fprintf(&b, "Dear %s,\r\n\r\nYour laboratory results from your visit are ready.\r\n\r\n"+
		"Patient: %s\r\nDate of birth: %s\r\n%s\r\nDiagnosis: %s (ICD-10 %s)\r\nHbA1c: %.1f %%\r\n"+
		"Blood pressure: %d/%d mmHg\r\n\r\nYour next appointment with Dr. %s is on %02d/%02d/2027 at %02d:30.\r\n"+
		"Please bring your medication list.\r\n\r\n",
		name, name, dob, mrn, dx.text, dx.code, 5.2+float64(rng.IntN(40))/10, 110+rng.IntN(50), 65+rng.IntN(30),
		familyNames[rng.IntN(len(familyNames))], 1+rng.IntN(12), 1+rng.IntN(28), 8+rng.IntN(9))
	pad(&b, 5*1024+rng.IntN(15*1024), rng)
	b.WriteString("\r\n\r\nThis notice is for the patient named above only.\r\n")
	return rcpt, b.Bytes()
}
