package policy

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
)

// The shapes of PHI that issue 18 names as missed, each in messages written for this
// test alone: other people, numbers, organisations and wording than the corpora and
// verdictExamples, and never used to fit the scorer. Clean controls of the same shape
// (a lawn-care statement, an auto claim, an employer's SSN) keep the false-positive
// side honest.

// withAttachment is a message with a neutral body and one base64 attachment.
func withAttachment(from, to, subject, ctype, name, data string) []byte {
	return []byte("From: " + from + "\r\nTo: " + to + "\r\nSubject: " + subject + "\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"sh\"\r\n\r\n--sh\r\nContent-Type: text/plain\r\n\r\nAttached.\r\n" +
		"--sh\r\nContent-Type: " + ctype + "\r\nContent-Disposition: attachment; filename=\"" + name + "\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n" + base64.StdEncoding.EncodeToString([]byte(data)) + "\r\n--sh--\r\n")
}

// forwarded is a message whose only PHI is in an attached message/rfc822 part.
func forwarded(inner []byte) []byte {
	return []byte("From: Office <om@northclinic.example>\r\nTo: vendor@documentco.example\r\nSubject: FW: FYI\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"fw\"\r\n\r\n--fw\r\nContent-Type: text/plain\r\n\r\n" +
		"See below.\r\n--fw\r\nContent-Type: message/rfc822\r\n\r\n" + string(inner) + "\r\n--fw--\r\n")
}

var shapeExamples = []verdictExample{
	// A valid SSN beside a named patient in a registration or billing message.
	{"ssn, patient accounts to collections", testMail("Patient Accounts <pa@stlukes-north.example>", "collections@recovery.example",
		"Account transfer", plain, "Transferring the balance for Kwame Osei-Bonsu (ss# 544-21-7786) to your agency per our contract."), true},
	{"ssn, patient financial services", testMail("Patient Financial Services <pfs@mercy.example>", "collections@recovery.example",
		"Account transfer", plain, "Transferring the balance for Kwame Osei-Bonsu (SSN 544-21-7786) to your agency per our contract."), true},
	{"ssn, registration with guarantor", testMail("Registration <reg@harborview-med.example>", "Billing Svc <intake@medbill.example>",
		"New registration", plain, "Set up the account below.\n\nGuarantor/patient: Marisol Achterberg\nSocial: 078-05-1120\nPayer: self-pay"), true},
	{"clean ssn, employer's new hire", testMail("HR <hr@acme-widgets.example>", "payroll@adp.example", "new hire", plain,
		"New hire Bartholomew Nkemelu, SSN 301-44-9182, starts Monday."), false},
	// A mental-health or substance-use service and no number.
	{"intensive outpatient for alcohol use", testMail("Intake <intake@bridgewaycounseling.example>", "Front Desk <desk@bridgewaycounseling.example>",
		"scheduling", plain, "Can you find an evening slot for Declan Moriarty? He starts the intensive outpatient program for alcohol use disorder next week."), true},
	{"stopped buprenorphine", testMail("Nurse Line <rn@valleyhealth.example>", "Dr. Sato <sato@valleyhealth.example>", "call back", plain,
		"Ingrid Halvorsen called - she stopped her buprenorphine two days ago and is asking to restart."), true},
	{"psychological evaluation for a court", testMail("Court Liaison <liaison@stateforensic.example>", "clerk@county-court.example", "report", plain,
		"The psychological evaluation of Anselm Quarles is complete and will be filed Monday."), true},
	{"clean performance evaluation", testMail("HR <hr@corp.example>", "mgr@corp.example", "eval", plain,
		"The annual performance evaluation of Anselm Quarles is complete."), false},
	// Patient statements.
	{"statement for knee surgery", testMail("Billing <statements@riversideortho.example>", "Nadia Kovalenko <nadia.k@fastmail.example>",
		"Your statement", plain, "Nadia Kovalenko\n1187 Larch Street, Apt 3\nAccount no. 300918274\n09/14/2026 Arthroscopic knee surgery, left $2,410.00\nYou owe $460.00"), true},
	// Member IDs with a claim.
	{"member id with a denied claim", testMail("Claims <claims@summitcare-plan.example>", "Provider Relations <pr@eastgate-clinic.example>",
		"Claim status", plain, "Claim 2026-118837 for member Thaddeus Oyelaran, member ID ZQH889204417, DOS 10/21/2026, CPT 99214, was denied."), true},
	{"clean auto claim", testMail("Auto Claims <claims@autoins.example>", "Ravi Menon <ravi.menon@gmail.com>", "Claim update", plain,
		"Claim 55-118837 for your 2019 Honda: the body shop estimate was approved. Policy ID AUT-5530-1187."), false},
	// MRNs with an ED encounter.
	{"mrn and an ED bounceback", testMail("ED Charge RN <edcharge@mercygeneral.example>", "Case Management <cm@mercygeneral.example>",
		"ED bounceback", plain, "MRN 30058712 back in the ED tonight, third visit this month, chest pain again."), true},
	// PHI only inside a forwarded message.
	{"forwarded wound note", forwarded(testMail("Dr. Yusuf Demir <ydemir@northclinic.example>", "Wound Care <wc@northclinic.example>",
		"wound update", plain, "Beatrix Lindqvist, DOB 1948-03-09: stage 3 sacral pressure injury, start collagenase.")), true},
	// An invitation naming a patient.
	{"ics colonoscopy", withAttachment("Endo Scheduling <endo@stmary.example>", "Anesthesia <sched@anesthesia-partners.example>", "Invitation",
		"text/calendar; method=REQUEST", "invite.ics", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:20261112T143000Z\r\n"+
			"SUMMARY:Colonoscopy - Percival Ashdown\r\nDESCRIPTION:Hx ulcerative colitis.\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"), true},
	// Pipe-delimited and HTML-table lists.
	{"pipe list of dialysis pickups", testMail("Dialysis Unit <du@renalcare.example>", "Transport <dispatch@medride.example>", "Pickups", plain,
		"Name|DOB|Pickup|Chair\nAugustin Pereira|1957-11-30|06:15|4\nWilhelmina Troy|1944-02-17|06:40|7"), true},
	{"html table of infusions", testMail("Infusion Center <ic@cancerinst.example>", "Pharmacy <rx@cancerinst.example>", "Schedule", "text/html",
		"<table><tr><th>Patient</th><th>DOB</th><th>Regimen</th></tr><tr><td>Rosalind Mbeki</td><td>03/22/1971</td><td>FOLFOX cycle 4</td></tr>"+
			"<tr><td>Gideon Farkas</td><td>11/08/1955</td><td>rituximab</td></tr></table>"), true},
	// A patient identified only by a personal e-mail address.
	{"portal account by personal address", testMail("Clinic <clinic@sunrise-peds.example>", "it-help@portalvendor.example", "portal access", plain,
		"Patient account tied to priya.venkataraman.home@outlook.com cannot see her HIV viral load results; please fix the permissions."), true},
	{"wrong report shown to a personal address", testMail("Front Desk <fd@lakeview-clinic.example>", "support@emrvendor.example", "ticket", plain,
		"The user jcarrow77@gmail.com reports the portal shows someone else's colonoscopy report instead of his own."), true},
	{"clean password reset for a personal address", testMail("Support <help@vendor.example>", "it@clinic.example", "ticket", plain,
		"The user jcarrow77@gmail.com cannot reset the password for the scheduling app."), false},
	// PHI only in the Subject or only in an attachment's file name.
	{"subject only", testMail("Dr. Amara Nwosu <anwosu@heartcenter.example>", "Scheduling <sched@heartcenter.example>",
		"Fenwick Tallis 8/14/53 - new AFib, needs echo this week", plain, "thanks"), true},
	{"file name only", withAttachment("Front desk <fd@derm.example>", "lab@pathlab.example", "specimen", "text/plain",
		"Okafor_Chidi_melanoma_biopsy_req.txt", "See document below. Thank you."), true},
	{"file name of a psych eval", withAttachment("Records <roi@baycity.example>", "attorney@lawfirm.example", "records", "text/plain",
		"Esperanza Ruelas DOB 1979-06-12 psych eval.txt", "See document below. Thank you."), true},
	{"clean file name of a price list", withAttachment("Sales <s@vendor.example>", "buyer@corp.example", "docs", "text/plain",
		"Q3_pricing_radiology_suite.txt", "See document below. Thank you."), false},
}

// TestMissedShapes checks the shapes issue 18 names on messages the scorer never saw.
func TestMissedShapes(t *testing.T) {
	eng := newTestEngine(t, Config{})
	for _, tc := range shapeExamples {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
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
