package policy

import (
	"reflect"
	"testing"

	"github.com/sealgate/sealgate/mail"
)

func TestSummaryTravelsWithoutValues(t *testing.T) {
	v := Verdict{PHI: true, Score: 0.97, Action: "encrypt", Method: "portal", Rule: "lab", SubjectTag: "[secure]",
		Reasons: []Reason{{Detector: "ssn", Part: "1", Count: 2, Confidence: 0.9}, {Detector: "dob", Part: "header", Count: 1}}}
	got := v.Summary()
	want := mail.PolicySummary{PHI: true, Action: "encrypt", Method: "portal", Rule: "lab", Reasons: []string{"ssn×2", "dob×1"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Summary() = %+v, want %+v", got, want)
	}
	if s := (Verdict{Action: "deliver"}).Summary(); s.Reasons != nil || s.PHI || s.Action != "deliver" {
		t.Fatalf("empty verdict: %+v", s)
	}
}
