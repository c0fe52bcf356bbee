package extract

import (
	"context"
	"strings"
	"testing"
)

// FHIR XML carries every value in a "value" attribute: it must be read, and a Patient
// with a name beside clinical resources gives the record signals.
func TestXMLFHIR(t *testing.T) {
	src := `<?xml version="1.0" encoding="UTF-8"?>
<Bundle xmlns="http://hl7.org/fhir"><type value="collection"/>
 <entry><resource><Patient><identifier><system value="urn:mrn"/><value value="5521907"/></identifier>
 <name><family value="Quennell"/><given value="Ottoline"/></name><birthDate value="1961-08-30"/></Patient></resource></entry>
 <entry><resource><Condition><code><coding><code value="K50.90"/><display value="Crohn disease"/></coding></code>
 <subject><reference value="Patient/p1"/></subject></Condition></resource></entry>
</Bundle>`
	got, sig, err := XML([]byte(src), 64)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Patient: Ottoline Quennell", "Date of birth: 1961-08-30", "display: Crohn disease", "code: K50.90", "value: 5521907"} {
		if !strings.Contains(string(got), want) {
			t.Errorf("FHIR XML text %q lacks %q", got, want)
		}
	}
	if sig.RecordPatient != 1 || sig.RecordClinical != 1 {
		t.Errorf("signals %+v, want one patient and one clinical resource", sig)
	}
	// The same element names outside the FHIR namespace are not resources.
	_, sig, _ = XML([]byte(`<doc><Patient><name><given value="A"/></name></Patient><Condition/></doc>`), 64)
	if sig.RecordPatient != 0 || sig.RecordClinical != 0 {
		t.Errorf("non-FHIR XML gave record signals %+v", sig)
	}
}

// FHIR JSON and bulk-export NDJSON: each Patient with a name and each clinical resource
// is counted; a CapabilityStatement that only names the Patient type is not.
func TestJSONRecordFHIR(t *testing.T) {
	src := `{"resourceType":"Patient","id":"a","name":[{"family":"Oyelaran","given":["Bisi","T"]}],"birthDate":"1977-02-14"}
{"resourceType":"Patient","id":"b","name":[{"text":"Marit Solberg"}]}
{"resourceType":"Condition","subject":{"reference":"Patient/a"},"code":{"text":"type 2 diabetes"}}
`
	got, sig, err := JSONRecord([]byte(src), 16, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Patient: Bisi T Oyelaran", "Patient: Marit Solberg", "birthDate: 1977-02-14", "text: type 2 diabetes"} {
		if !strings.Contains(string(got), want) {
			t.Errorf("NDJSON text %q lacks %q", got, want)
		}
	}
	if sig.RecordPatient != 2 || sig.RecordClinical != 1 {
		t.Errorf("signals %+v, want two patients and one clinical resource", sig)
	}
	_, sig, _ = JSONRecord([]byte(`{"resourceType":"CapabilityStatement","rest":[{"resource":[{"type":"Patient"},{"type":"Condition"}]}]}`), 16, 1<<20)
	if sig.RecordPatient != 0 || sig.RecordClinical != 0 {
		t.Errorf("CapabilityStatement gave record signals %+v", sig)
	}
	// A clinical resource names its patient in subject.display.
	got, sig, _ = JSONRecord([]byte(`{"resourceType":"Observation","subject":{"reference":"Patient/g8","display":"Fiammetta Ingleby"},"valueQuantity":{"value":7.9,"unit":"ng/mL"}}`), 16, 1<<20)
	if sig.RecordPatient != 1 || sig.RecordClinical != 1 || !strings.Contains(string(got), "Patient: Fiammetta Ingleby") {
		t.Errorf("Observation with subject.display: %+v %q", sig, got)
	}
}

// A FHIR resource pasted into a text part after a line of prose is read as the json
// kind is, and the prose is kept.
func TestPastedFHIRResource(t *testing.T) {
	body := "GET /Observation returned this - why is interpretation H?\n\n" +
		`{"resourceType": "Observation", "subject": {"reference": "Patient/g8", "display": "Fiammetta Ingleby"}, "code": {"text": "PSA, total"}}` +
		"\nThanks\n"
	res := Extract(context.Background(), Doc{MediaType: "text/plain", Data: []byte(body)}, Limits{MaxOutput: 1 << 20, MaxXMLDepth: 32})
	var text strings.Builder
	for _, p := range res.Texts {
		text.Write(p.Body)
	}
	if res.Signals.RecordPatient != 1 || res.Signals.RecordClinical != 1 {
		t.Errorf("signals %+v, want the Observation and its patient", res.Signals)
	}
	for _, want := range []string{"GET /Observation returned this", "Patient: Fiammetta Ingleby", "text: PSA, total", "Thanks"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("read %q, lacks %q", text.String(), want)
		}
	}
}

// A delimited list pasted into a message or a .txt attachment is read with its header
// labelling every value; HL7 names are written in reading order; HL7 segments and prose
// are left alone.
func TestTables(t *testing.T) {
	src := "Nightly extract below.\n" +
		"ACCT|PATIENT|DOS|ICD10\n" +
		"84403190|ARDINGLY^MERCEDES|20250602|E11.9\n" +
		"92188713|POCKLINGTON^DULCIE^R|20241013|I48.0\n" +
		"Thanks, billing\n"
	got := string(Tables([]byte(src), 1<<20))
	for _, want := range []string{"Nightly extract below.\n", "PATIENT: Mercedes Ardingly ;", "PATIENT: Dulcie R Pocklington ;", "ICD10: I48.0 ;", "Thanks, billing\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("table text %q lacks %q", got, want)
		}
	}
	md := "| Name | DOB |\n|---|---|\n| Ines Varga | 03/04/1950 |\n| Tomas Lind | 11/12/1948 |\n"
	if got := string(Tables([]byte(md), 1<<20)); !strings.Contains(got, "DOB: 03/04/1950 ;") || strings.Contains(got, ": ---") {
		t.Errorf("markdown table read as %q", got)
	}
	hl7 := "MSH|^~\\&|LAB|X|Y|Z|202501011200||ORU^R01|1|P|2.5\nPID|1||123||DOE^JANE||19800101|F\nOBX|1|NM|GLU||98|mg/dL\n"
	if got := Tables([]byte(hl7), 1<<20); got != nil {
		t.Errorf("HL7 segments were rewritten as a table: %q", got)
	}
	if got := Tables([]byte("a | b\nno table here; really\n"), 1<<20); got != nil {
		t.Errorf("prose read as a table: %q", got)
	}
}

// An HTML table is read with its header cells labelling the cells under them.
func TestHTMLTableLabelled(t *testing.T) {
	src := `<p>Disclosures:</p><table><tr><th>Patient</th><th>Requester</th><th>Scope</th></tr>` +
		`<tr><td>Dorota Nakagawa</td><td>attorney</td><td>oncology notes</td></tr>` +
		`<tr><td>Wystan Mbatha</td><td>insurer</td><td>cardiology notes</td></tr></table>`
	res := Extract(context.Background(), Doc{MediaType: "text/html", Data: []byte(src)}, Limits{MaxOutput: 1 << 20})
	if len(res.Texts) != 1 {
		t.Fatalf("texts %+v", res.Texts)
	}
	got := string(res.Texts[0].Body)
	for _, want := range []string{"Patient: Dorota Nakagawa ;", "Scope: cardiology notes ;"} {
		if !strings.Contains(got, want) {
			t.Errorf("HTML table read as %q, lacks %q", got, want)
		}
	}
}
