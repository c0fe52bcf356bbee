package detect

import (
	"context"
	"testing"
)

var testAnalyzer *Analyzer

func analyzer(t testing.TB) *Analyzer {
	t.Helper()
	if testAnalyzer == nil {
		a, err := NewAnalyzer()
		if err != nil {
			t.Fatalf("NewAnalyzer: %v", err)
		}
		testAnalyzer = a
	}
	return testAnalyzer
}

func scanText(t testing.TB, text string, opt *Options) Counts {
	t.Helper()
	var c Counts
	if err := analyzer(t).Scan(context.Background(), []byte(text), opt, &c); err != nil {
		t.Fatalf("Scan: %v", err)
	}
	return c
}

// TestDetectors checks each detector on a valid value, an invalid one and a near miss.
func TestDetectors(t *testing.T) {
	cases := []struct {
		text string
		id   ID
		want int32
	}{
		{"SSN 692-55-2407", SSN, 1},
		{"soc. sec. 310 97 2005", SSN, 1},
		{"ss # 310.97.2005", SSN, 1},
		{"social security 270274998", SSN, 1},
		{"S.S. No. 270274998", SSN, 1},
		{"order 270274998", SSN, 0},            // nine digits without SSN words
		{"Soc. Sec. No.: 620/01/2646", SSN, 1}, // slashes, after a label of three words
		{"ref 620/01/2646", SSN, 0},            // slashes without a label
		{"account 0354468681", MRN, 1},
		{"account ending 4099", MRN, 0}, // the visible end of a masked number
		{"Jessup, Gaetano - strep positive, needs amoxicillin", NameNearHealth, 1},
		{"Boston, Massachusetts - asthma rates rise", NameNearHealth, 0},
		{"Leontyne Baptiste will start methadone maintenance on Monday", NameNearHealth, 1},
		{"Priya Natarajan will present advances in heart failure care", NameNearHealth, 0},
		{"she called again about the reflux", Condition, 1},   // a lexicon word the lists lack
		{"wants to know if pantoprazole is covered", Drug, 1}, // a generic name by its stem
		{"Crispin Lockhart (785-555-0192) asked for a letter: he had a migraine flare", NameNearHealth, 1},
		{"booking 666-65-6213", SSN, 0},         // area 666
		{"ref 541-00-8440", SSN, 0},             // group 00
		{"MBI: 6QV3-AM6-VN53", MBI, 1},          // printed form
		{"Medicare number 1EG4TE5MK73", MBI, 1}, // plain form after Medicare words
		{"code 1EG4TE5MK73", MBI, 0},            // plain form without context
		{"key 3B57-Z27-BE35", MBI, 0},           // excluded letters
		{"NPI 1514112907", NPI, 1},              // Luhn with 80840
		{"NPI 1514112908", NPI, 0},              // check digit off
		{"phone 1514112907", NPI, 0},            // no NPI word
		{"card 4111 1111 1111 1111", Card, 1},   // Visa
		{"rewards 4140302632663911", Card, 0},   // Luhn fails
		{"DEA AB1234563", DEA, 1},               // check digit holds
		{"DEA AB1234564", DEA, 0},               // check digit off
		{"Dx: F42.2", ICD10, 1},                 // code after diagnosis words
		{"G47.33 (obstructive sleep apnea)", ICD10, 1},
		{"I48.91 Ignition coil pack", ICD10, 0}, // no clinical context
		{"NDC 94938-2219-8", NDC, 1},            // 5-4-1
		{"item 94938-2219-8", NDC, 0},           // no NDC word
		{"DOB 02/28/1976", DOB, 1},
		{"born October 29, 1949", DOB, 1},
		{"fecha de nacimiento: 15 de junio de 1990", DOB, 1},
		{"dob: 2018-06-30", DOB, 1},
		{"DOB 13/45/1976", DOB, 0},   // not a date
		{"born to run 1975", DOB, 0}, // no date
		{"MRN: 11059767", MRN, 1},
		{"MRN: pending", MRN, 0},
		{"Member ID 334 884 4941", MemberID, 1},
		{"Member since 2020", MemberID, 0},
		// A short number after the bare word "member" numbers a club's or a newsletter's
		// members; a label, a longer or lettered value, or health coverage near it makes
		// it a plan's member ID.
		{"Dear member 10477,\nour garden tour and the walking group meet on Saturday.", MemberID, 0},
		{"Thank you, member 58213: your library card renews in May.", MemberID, 0},
		{"Dear member 10477, your health plan covers the flu shot at no cost.", MemberID, 1},
		{"Dear member 10477, your plan now covers telehealth visits.", MemberID, 1},
		{"Dear member 10477, plan your visit to the garden this autumn.", MemberID, 0},
		{"Member 10477 - claim for the MRI was denied.", MemberID, 1},
		{"Dear member 10477, your Medicaid renewal is due.", MemberID, 1},
		{"Member ID 10477", MemberID, 1},
		{"Member # 10477", MemberID, 1},
		{"Dear member 884120937,", MemberID, 1},
		{"member W22014881", MemberID, 1},
		{"member 4471-2290", MemberID, 1},
		{"daughter's phone (614) 555-0129", Contact, 1},
		{"ship to 44 Elm St, Fairview", Contact, 1},
		{"call us at (614) 555-0129", Contact, 0},
		{"cell service was down", Contact, 0},
		{"Patient: Verena Vandermeer Acct 08903558", PatientName, 1},
		{"Patient: pending", PatientName, 0},
		{"Magnesium: 1.1 mg/dL (normal 1.7-2.2)", LabResult, 1},
		{"Ferritin 6 ng/mL", LabResult, 1},
		{"Magnesium is a mineral", LabResult, 0},
		{"average A1c fell from 8.9% to 7.6%", LabResult, 0},
		{"take rifampin 600 mg daily", Dose, 1},
		{"a 600 ml bottle", Dose, 0},
		{"diagnosed with sarcoidosis", Condition, 1}, // word ending
		{"the academia", Condition, 0},               // excluded ending
		{"started on olmesartan", Drug, 1},
		{"started on famciclovir", Drug, 1},      // -vir
		{"history of agoraphobia", Condition, 1}, // -phobia
		{"a sports trophy", Condition, 0},        // excluded ending
		{"the intercept was high", Drug, 0},      // excluded ending
		{"started on rosuvastatin", Drug, 1},
		{"Jonah Feldmann - new diagnosis of multiple sclerosis", NameNearHealth, 1},
		{"Dr. Jonah Feldmann treats multiple sclerosis", NameNearHealth, 0},
		{"Mercy Vale General Hospital treats multiple sclerosis", NameNearHealth, 0},
		{"Understanding Seasonal Allergies", NameNearHealth, 0},
		{"Medication Management Basics for asthma", NameNearHealth, 0},
		{"Hi Wren, see you soon", Addressed, 1},
		{"Hi team, see you soon", Addressed, 0},
		{"Dear Colleagues, see you soon", Addressed, 0},
		{"Dear Patient, see you soon", Addressed, 0},
		{"your calcitriol refill", PersonalHealth, 1},
		{"your team treats asthma", PersonalHealth, 0},
		{"grow your diabetes program", PersonalHealth, 0},
		{"your appointment is Monday", PersonalCare, 1},
		{"Clover's (rabbit) recheck with Dr. Sand, DVM", Veterinary, 1},
		{"Your dog's vaccines are due", Veterinary, 1},
		{"Wound vac change at 2 PM. Dog is friendly.", Veterinary, 0},
		{"Employee: Ifeoma Alvarado-Cruz", Condition, 0},
		{"Biopsy showed a carcinoma. Melanoma on the left arm.", Condition, 2},
		{"4 bx blood glucose test strips", Condition, 0},
		{"He called again about the low iron.", LabResult, 1},
		{"Mensaje de voz de (509) 555-0188: se le acabó el inhalador", Contact, 1},
		{"Mensaje de voz de (509) 555-0188: se le acabó el inhalador", Procedure, 1},
		{"Bed 12 Hollis 71M POD2 CABG, chest tube out", AgeSex, 1},
		{"Bed 12 Hollis 71M POD2 CABG, chest tube out", PatientName, 1},
		{"AGE/SEX: 34M ; CC: chest pain", PatientName, 0},
		{"6yo with croup, Dr. Ames", AgeSex, 1},
		{"Take the elevator to 4F.", PatientName, 0},
		{"Code G43 and 2F", AgeSex, 1},
		{"Your cardiac ICU experience stood out.", PersonalHealth, 0},
		{"Your cardiac rhythm was irregular.", PersonalHealth, 1},
		{"Her potassium was elevated on Monday.", LabResult, 0},
		{"Elevated A1c again; potasio bajo.", LabResult, 2},
		{"We now offer iron and potassium panels.", LabResult, 0},
		{"NAME: GUERRERO, MATEO ;\tCC: MVC, L femur deformity ;", NameNearHealth, 1},
		{"Patient: TOLLIVER, ANOUK", PatientName, 1},
		{"RE: FLU CLINIC HOURS", NameNearHealth, 0},
		{"Order 02668868 confirmed\nShip to: Rookwood Internal Medicine, Receiving Dock\nAccount: 0046922", MRN, 0},
		{"Statement for services on 3/2\nAccount: 0046922\nBalance due $40.00", MRN, 1},
		{"Order 0266 shipped. Patient account: 0046922", MRN, 1},
		{"PET-CT recommended", Veterinary, 0},
		{"Manage preferences", BulkMail, 1},
	}
	for _, tc := range cases {
		c := scanText(t, tc.text, nil)
		if c[tc.id] != tc.want {
			t.Errorf("%q: %s = %d, want %d", tc.text, tc.id, c[tc.id], tc.want)
		}
	}
}

func TestRecipientAndSenderNames(t *testing.T) {
	opt := &Options{Recipients: map[string]bool{"gaspard": true}, Senders: map[string]bool{"karsten": true}}
	c := scanText(t, "Gaspard, we look forward to seeing you.", opt)
	if c[Addressed] == 0 {
		t.Errorf("recipient's first name not seen as addressing: %v", c)
	}
	opt.Senders["uhlmann"] = true
	c = scanText(t, "Regards from Karsten Uhlmann about asthma care", opt)
	if c[NameNearHealth] != 0 {
		t.Errorf("sender's name taken for a patient's: %v", c)
	}
	c = scanText(t, "Karsten Bloom has asthma", opt)
	if c[NameNearHealth] != 1 {
		t.Errorf("patient sharing the sender's first name not seen: %v", c)
	}
}

func TestHL7Segments(t *testing.T) {
	text := "MSH|^~\\&|LAB|X|EHR|X|20250101||ORU^R01|1|P|2.5.1\rPID|1||123^^^X^MR||DOE^JANE||19700101|F\rOBX|1|NM|2132-9^B12^LN||140|pg/mL|200-900|L\rDG1|1||E11.9^diabetes^I10\r"
	c := scanText(t, text, nil)
	if c[HL7Patient] != 1 || c[HL7Clinical] != 2 {
		t.Errorf("hl7: patient=%d clinical=%d, want 1 and 2", c[HL7Patient], c[HL7Clinical])
	}
	c = scanText(t, "Fix: OBX-5 CWE parsing; ADT^A40 merge and PID-3 lookups", nil)
	if c[HL7Patient] != 0 || c[HL7Clinical] != 0 {
		t.Errorf("release notes counted as segments: %v", c)
	}
	for _, spec := range []string{"PID|1||<MRN>^^^<AUTH>^MR||<FAMILY>^<GIVEN>||<YYYYMMDD>|<SEX>",
		"PID|1||12345^^^X^MR||LAST^FIRST^MIDDLE||19700101|F", "PID|1||1^^^X^MR||TEST^PATIENT||19700101|F"} {
		if c := scanText(t, spec, nil); c[HL7Patient] != 0 {
			t.Errorf("placeholder PID %q counted as a patient", spec)
		}
	}
}

func TestPersonName(t *testing.T) {
	a := analyzer(t)
	if w := a.PersonName("Wren Prendergast"); len(w) != 2 || w[0] != "wren" {
		t.Errorf("PersonName(Wren Prendergast) = %v", w)
	}
	for _, s := range []string{"Mercy Vale General Hospital", "Interface Team", "Undisclosed recipients:;", "Citas", ""} {
		if w := a.PersonName(s); w != nil {
			t.Errorf("PersonName(%q) = %v, want nil", s, w)
		}
	}
}

func TestScanStopsOnCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var c Counts
	if err := analyzer(t).Scan(ctx, []byte("asthma"), nil, &c); err == nil {
		t.Error("Scan with a cancelled context returned no error")
	}
}

func TestNameForms(t *testing.T) {
	cases := []struct {
		text string
		id   ID
		want int32
	}{
		{"PATIENT: DOE, JANE  DOB 01/02/1980", PatientName, 1},
		{"PATIENT NAME: JANE DOE", PatientName, 1},
		{"PATIENT: PENDING", PatientName, 0},
		{"Patient: Tolliver, Anouk", PatientName, 1},
		{"Offices: Boston, Massachusetts", PatientName, 0},
		{"Siobhan McDonald - new diagnosis of lupus", NameNearHealth, 1},
		{"Saoirse Nightingale-Ross started warfarin", NameNearHealth, 1},
		{"Patient: Saoirse Nightingale-Ross", PatientName, 1},
		{"DOB: March 14th, 1962", DOB, 1},
	}
	for _, tc := range cases {
		c := scanText(t, tc.text, nil)
		if c[tc.id] != tc.want {
			t.Errorf("%q: %s = %d, want %d", tc.text, tc.id, c[tc.id], tc.want)
		}
	}
}
