package policy

import (
	"context"
	"strings"
	"testing"
)

// explainMessage has a valid SSN and a diagnosis in its body and an attachment the
// policy cannot read (a 7z archive).
var explainMessage = []byte("From: Registration <reg@clinic.example>\r\nTo: Ines Marlowe <im@home.example>\r\n" +
	"Subject: Registration\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n" +
	"--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
	"Patient: Ines Marlowe\r\nSSN 692-55-2407\r\nDiagnosis: type 2 diabetes\r\n" +
	"--B\r\nContent-Type: application/x-7z-compressed; name=\"scan.7z\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
	"N3q8ryccAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n--B--\r\n")

func TestExplainNamesPartsFindingsAndFeatures(t *testing.T) {
	eng := newTestEngine(t, Config{})
	ex, err := eng.Explain(context.Background(), explainMessage, Input{}, ExplainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := eng.Check(context.Background(), explainMessage, Input{})
	if err != nil {
		t.Fatal(err)
	}
	if ex.Verdict.PHI != v.PHI || ex.Verdict.Action != v.Action || ex.Verdict.Score != v.Score {
		t.Errorf("explained verdict %+v differs from Check's %+v", ex.Verdict, v)
	}
	if !ex.Verdict.PHI || !ex.Verdict.Unreadable {
		t.Errorf("verdict %+v, want PHI and unreadable", ex.Verdict)
	}
	var body, archive *PartReport
	for i := range ex.Parts {
		switch ex.Parts[i].Part {
		case "1":
			body = &ex.Parts[i]
		case "2":
			archive = &ex.Parts[i]
		}
	}
	if body == nil || body.MediaType != "text/plain" || body.BytesRead == 0 || body.Detectors["us_ssn"] != 1 {
		t.Errorf("body part report %+v, want text/plain read with one us_ssn", body)
	}
	if archive == nil || len(archive.Unreadable) == 0 {
		t.Errorf("archive part report %+v, want a reason it could not be read", archive)
	}
	text := "Patient: Ines Marlowe\r\nSSN 692-55-2407\r\n"
	var ssn *Finding
	for i, f := range ex.Findings {
		if f.Detector == "us_ssn" {
			ssn = &ex.Findings[i]
		}
		if f.Value != "" {
			t.Errorf("finding %+v carries its value without ShowValues", f)
		}
	}
	if ssn == nil || ssn.Part != "1" || ssn.Offset != strings.Index(text, "692") {
		t.Errorf("us_ssn finding %+v, want part 1 at offset %d", ssn, strings.Index(text, "692"))
	}
	if len(ex.Contributions) < 3 {
		t.Errorf("contributions %+v, want the features that moved the score", ex.Contributions)
	}

	shown, err := eng.Explain(context.Background(), explainMessage, Input{}, ExplainOptions{ShowValues: true})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range shown.Findings {
		if f.Detector == "us_ssn" && strings.HasPrefix(f.Value, "692") {
			found = true
		}
	}
	if !found {
		t.Errorf("with ShowValues the SSN finding has no value: %+v", shown.Findings)
	}
}
