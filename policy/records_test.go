package policy

import (
	"context"
	"testing"
)

// A structured clinical record attached to a neutral message is PHI: a FHIR bundle in
// XML (every value in an attribute) or NDJSON naming its patient beside clinical
// resources, and a pipe-delimited charge list naming patients with diagnosis codes.
func TestStructuredRecordsAttached(t *testing.T) {
	fhirXML := `<Bundle xmlns="http://hl7.org/fhir"><entry><resource><Patient><name><family value="Halvorsen"/>` +
		`<given value="Petra"/></name><birthDate value="1958-01-19"/></Patient></resource></entry>` +
		`<entry><resource><AllergyIntolerance><code><text value="penicillin"/></code></AllergyIntolerance></resource></entry></Bundle>`
	ndjson := `{"resourceType":"Patient","name":[{"family":"Achterberg","given":["Joost"]}]}` + "\n" +
		`{"resourceType":"Observation","code":{"text":"HbA1c"},"valueQuantity":{"value":8.1,"unit":"%"}}` + "\n"
	charges := "ACCT|PATIENT|DOS|ICD10|CHARGE\n61028844|LINDQVIST^ASTRID|20250611|F33.1|420.00\n" +
		"70219933|OKONKWO^EMEKA|20250612|N18.32|645.00\n70219934|BRANDT^ILSE|20250612|E11.9|88.00\n"
	for _, tc := range []struct {
		name string
		part mimePart
		why  string
	}{
		{"FHIR XML", attachmentPart("application/fhir+xml", "export.xml", []byte(fhirXML)), "record_patient"},
		{"FHIR NDJSON", attachmentPart("application/fhir+ndjson", "Patient.ndjson", []byte(ndjson)), "record_patient"},
		{"pipe-delimited list", attachmentPart("text/plain", "charges.txt", []byte(charges)), "icd10_cm"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := checkMsg(t, Config{}, mailWith(tc.part))
			if !v.PHI {
				t.Fatalf("verdict %+v: a named patient's record left unprotected", v)
			}
			if !hasReason(v, tc.why, "2") {
				t.Errorf("reasons %+v lack %s in part 2", v.Reasons, tc.why)
			}
		})
	}
}

// A newsletter passed on as an attached message is list mail, whatever the outer
// header says: the scorer is told (nested_list_mail).
func TestNestedListMailSignal(t *testing.T) {
	inner := "From: News <news@clinic.example>\r\nTo: Undisclosed recipients:;\r\nSubject: Healthy living\r\n" +
		"List-Unsubscribe: <https://clinic.example/u/1>\r\nPrecedence: bulk\r\n\r\nKnow your cholesterol numbers.\r\n"
	for _, tc := range []struct {
		msg  []byte
		want bool
	}{
		{mailWith(mimePart{ctype: "message/rfc822", disp: "attachment", data: []byte(inner)}), true},
		{mailWith(mimePart{ctype: "message/rfc822", disp: "attachment",
			data: []byte("From: Ann <ann@clinic.example>\r\nSubject: fwd\r\n\r\nSee below.\r\n")}), false},
	} {
		s := newScan(context.Background(), failClosedEngine(t, Config{}))
		if err := s.messageFrom(tc.msg, "", 0); err != nil {
			t.Fatal(err)
		}
		if s.msg.nestedList != tc.want {
			t.Errorf("nestedList = %v, want %v", s.msg.nestedList, tc.want)
		}
	}
}
