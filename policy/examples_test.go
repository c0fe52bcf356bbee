package policy

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testMail builds a small single-part message.
func testMail(from, to, subject, ctype, body string) []byte {
	var b strings.Builder
	b.WriteString("From: " + from + "\r\nTo: " + to + "\r\nSubject: " + subject + "\r\n")
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: " + ctype + "\r\n\r\n" + body + "\r\n")
	return []byte(b.String())
}

// verdictExample is a short labelled message written for these tests.
type verdictExample struct {
	name string
	msg  []byte
	phi  bool
}

const plain = "text/plain; charset=utf-8"

// verdictExamples are messages written for these tests, with other names, numbers and
// wording than the corpora: everyday near misses (an oil change "appointment", a gym
// "member ID", a vendor's "your diabetes program") and PHI in few words. The scorer is
// fitted on them too (TestTrainModel), as a third labelled set.
var verdictExamples = []verdictExample{
	{"greeting and your diagnosis", testMail("Lakeside Clinic <care@lakeside.example>", "Tomasz Weber <tw@home.example>",
		"Follow-up", plain, "Hi Tomasz,\nYour biopsy came back benign. Please continue your lisinopril."), true},
	{"patient label and dob", testMail("a@b.example", "c@d.example", "referral", plain,
		"Pt: Harriet Okafor, D.O.B. 3/14/62\nReason: worsening heart failure, on furosemide 40 mg"), true},
	{"name near condition in subject", testMail("a@b.example", "c@d.example",
		"Jonah Feldmann - new diagnosis of multiple sclerosis", plain, "fyi"), true},
	{"ssn with words", testMail("a@b.example", "c@d.example", "claim", plain,
		"Claimant Priya Raman, SSN 219-09-9999, treated for lumbar radiculopathy."), true},
	{"mrn and lab", testMail("a@b.example", "c@d.example", "labs", plain,
		"MRN: A7781203\nPotassium 6.1 mmol/L (3.5-5.1) - repeat today"), true},
	{"spanish appointment", testMail("Citas <citas@x.example>", "Lucia Marquez <lm@y.example>", "Su cita", plain,
		"Hola Lucía:\nLe recordamos su cita de cardiología para su hipertensión el lunes."), true},
	{"member id and device", testMail("Plan <um@plan.example>", "Omar Haddad <oh@home.example>", "Decision", plain,
		"Omar Haddad, your request for a home oxygen concentrator is approved. Member ID: XKW 4471 2290."), true},
	{"clean newsletter", testMail("Clinic News <news@clinic.example>", "Undisclosed recipients:;", "Heart month", plain,
		"February is heart month. Learn the signs of a heart attack and ask about statins.\nUnsubscribe: https://x.example/u"), false},
	{"clean vendor pitch", testMail("Sam Ortiz <sam@vendor.example>", "Dana Kim <dana@hospital.example>", "Intro", plain,
		"Dear Dana Kim,\nOur platform cuts sepsis readmissions by 20%. Could we set up a call with your team?\nSam Ortiz"), false},
	{"clean invoice", testMail("Billing <b@solar.example>", "Ruth Adler <ruth@home.example>", "Statement", plain,
		"Statement for Ruth Adler\nAccount 5512 9901\n12 Birch Road\nBalance due: $120.00"), false},
	{"clean vet", testMail("Oak Vet <front@oakvet.example>", "Ruth Adler <ruth@home.example>", "Reminder", plain,
		"Hi Ruth, Biscuit's (dog) arthritis meds and vaccines are ready for pickup."), false},
	{"clean provider roster", testMail("Cred <c@plan.example>", "roster@plan.example", "Roster", plain,
		"Roster\nAnn Liu, MD - Cardiology - NPI 1234567893\nDr. Raj Patel - Oncology"), false},
	{"clean booking with invalid ssn shape", testMail("Tours <t@tours.example>", "Eli Stone <eli@home.example>", "Booking 000-12-3456", plain,
		"Hi Eli, booking reference 000-12-3456 is confirmed."), false},
	{"clean coding tip", testMail("Coding <c@h.example>", "coders@h.example", "Tip", plain,
		"E11.9 is type 2 diabetes without complications; I10 is essential hypertension."), false},
	{"clean car service", testMail("Garage <g@cars.example>", "Eli Stone <eli@home.example>", "Appointment", plain,
		"Hi Eli, your appointment for an oil change is confirmed for Monday."), false},
	{"therapy session addressed by first name", testMail("Lakeside Behavioral <c@lakeside.example>", "Tobias Reyes <tr@mail.example>", "Session update", plain,
		"Tobias - your CBT session moved to Tuesday. Keep tracking the panic attacks in your journal."), true},
	{"patient writes about own medicine", testMail("Jane Porter <jp@mail.example>", "Clinic <desk@clinic.example>", "refill", plain,
		"Hi, I ran out of my sertraline and need a refill before the weekend."), true},
	{"curbside consult", testMail("Dr. Ana Ruiz <ar@clinic.example>", "Dr. Ben Cho <bc@hosp.example>", "curbside", plain,
		"Ben - quick curbside on Elliot Marsh, 67M, new afib on apixaban, now with GI bleed."), true},
	{"clean gym membership id", testMail("City Gym <hello@gym.example>", "Paul Berg <pb@mail.example>", "Your membership", plain,
		"Hi Paul, your membership renews on May 1. Member ID 5521 8890 1123. See you at spin class!"), false},
	{"clean personalised newsletter", testMail("Daily Health <news@dh.example>", "Sara Lind <sl@mail.example>", "5 signs of diabetes", plain,
		"Hi Sara, here are five early signs of type 2 diabetes and what to ask your doctor. Unsubscribe anytime."), false},
	{"clean staff celebration", testMail("Events <e@hosp.example>", "Jordan Blake <jb@hosp.example>", "Party", plain,
		"Hi Jordan, join us Friday to celebrate Nurse Carol Diaz's 30 years in the ICU!"), false},
	{"html referral table", testMail("Case Mgmt <cm@hosp.example>", "SNF Intake <intake@snf.example>", "referral", "text/html",
		"<table><tr><th>Name</th><td>Gertrude Vance</td></tr><tr><th>DOB</th><td>1939-07-02</td></tr><tr><th>Dx</th><td>CHF exacerbation</td></tr></table>"), true},
	{"name and medicine between clinicians", testMail("Dr. Lee <lee@clinic.example>", "Dr. Ortiz <o@clinic.example>", "FW: pt question", plain,
		"Can you call back Mr. Ferdinand Oakes re: his warfarin dosing? INR was 4.2 yesterday."), true},
	{"clean plumbing invoice", testMail("Ace Plumbing <office@ace.example>", "Gary Holt <gh@mail.example>", "Invoice 88213", plain,
		"Hi Gary, invoice 88213 for the water heater repair at 12 Pine Ct is attached. Account 220-551-993."), false},
	{"clean donor thanks", testMail("Mercy Foundation <give@mercy.example>", "Linda Park <lp@mail.example>", "Thank you", plain,
		"Dear Linda Park, thank you for your gift to the cancer center. Your support funds research into childhood leukemia."), false},
	{"clean job posting with recruiter", testMail("Talent <jobs@hosp.example>", "Undisclosed recipients:;", "Hiring", plain,
		"Dialysis RN - days. Experience with CKD patients preferred. Questions? Ask recruiter Hannah Cole at 555-0142."), false},
	{"patient asks about side effects", testMail("Maria Lopez <ml@mail.example>", "Dr. Chen <chen@clinic.example>", "question", plain,
		"Dr. Chen, since starting the metformin I have had stomach cramps. Should I keep taking it?"), true},
	{"clean benefits reminder", testMail("HR Benefits <b@corp.example>", "Sam Lee <sl@corp.example>", "Open enrollment", plain,
		"Hi Sam, open enrollment ends Friday. Your current plan covers physical therapy and mental health visits."), false},
	{"clean colleague covering a clinic", testMail("Nancy Ruiz <nr@hosp.example>", "Tom Becker <tb@hosp.example>", "coverage", plain,
		"Tom, can you cover my clinic Thursday? I have a dentist appointment."), false},
	{"critical result with MRN", testMail("Radiology <rad@hosp.example>", "Dr. Gomez <g@clinic.example>", "Critical result", plain,
		"CRITICAL: Peter Lang, MRN 00458812 - CT head shows acute subdural hematoma."), true},
	{"school nurse and allergy", testMail("School Nurse <n@school.example>", "Parent <p@mail.example>", "Field trip", plain,
		"Please send Emma Rios's EpiPen for Friday's field trip; her peanut allergy action plan is on file."), true},
	{"clean grand rounds", testMail("Grand Rounds <gr@hosp.example>", "Undisclosed recipients:;", "Grand Rounds", plain,
		"This week: Dr. Lena Park presents 'Sepsis in 2026'. Lunch at noon in the Moss Auditorium."), false},
	{"clean press release", testMail("Press <press@hosp.example>", "Undisclosed recipients:;", "News", plain,
		"Mercy Vale surgeons performed the region's first robotic kidney transplant. Chief of Surgery Anita Rao said the program will expand."), false},
	{"clean conference registration", testMail("Conference <info@conf.example>", "Ellen Price <ep@hosp.example>", "Registration", plain,
		"Dear Ellen Price, your registration for the Diabetes Technology Summit is confirmed."), false},
	{"reminder to a personal mailbox", testMail("Counseling Center <cc@univ.example>", "Student <s123@univ.example>", "Reminder", plain,
		"This is a reminder of your appointment with your counselor on Tuesday regarding your anxiety screening results."), true},
	{"clean pitch to a personal mailbox", testMail("Sam <sam@vendor.example>", "olivia.grant@hospital.example", "Idea", plain,
		"We can help grow your diabetes program with remote coaching."), false},
	{"clean recruitment", testMail("Research <r@eye.example>", "Eli Stone <eli@home.example>", "Study", plain,
		"Do you have glaucoma? We are enrolling adults in a study. Call 555-0100."), false},
}

// TestVerdictExamples pins the scoring on verdictExamples.
func TestVerdictExamples(t *testing.T) {
	eng := newTestEngine(t, Config{})
	for _, tc := range verdictExamples {
		t.Run(tc.name, func(t *testing.T) {
			v, err := eng.Check(context.Background(), tc.msg, Input{})
			if err != nil {
				t.Fatal(err)
			}
			if v.PHI != tc.phi {
				t.Errorf("phi = %v (score %.3f), want %v; reasons %+v", v.PHI, v.Score, tc.phi, v.Reasons)
			}
		})
	}
}

// TestSeedMessagesArePHI runs every extractor end to end: each seed message carries PHI
// only inside one kind of attachment or body (HL7, C-CDA, PDF, DOCX, CSV, JSON, iCalendar
// in a forwarded message, quoted-printable HTML).
func TestSeedMessagesArePHI(t *testing.T) {
	paths, err := filepath.Glob("testdata/seeds/*.eml")
	if err != nil || len(paths) < 8 {
		t.Fatalf("seed messages: %v (%d found)", err, len(paths))
	}
	eng := newTestEngine(t, Config{})
	for _, p := range paths {
		msg, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		v, err := eng.Check(context.Background(), msg, Input{})
		if err != nil {
			t.Fatal(err)
		}
		if !v.PHI || v.Unreadable {
			t.Errorf("%s: verdict %+v, want PHI found in readable content", p, v)
		}
	}
}
