package extract

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
)

// Signals are structural findings made while extracting, that plain text would lose.
type Signals struct {
	RecordPatient  int // C-CDA recordTarget or FHIR Patient resource with a patient name
	RecordClinical int // C-CDA observations, medications, problems; FHIR clinical resources
}

// ErrTooDeep reports XML nested deeper than allowed.
var ErrTooDeep = errors.New("extract: xml nesting too deep")

// xmlState is the state of one XML rendering.
type xmlState struct {
	out      bytes.Buffer
	stack    []string
	inTarget int // depth inside recordTarget
	name     bytes.Buffer
	inName   bool
	sig      Signals
	fhir     bool // the document is in the FHIR namespace
	patient  int  // depth of the FHIR Patient resource being read, 0 outside
	given    []string
	family   []string
}

// fhirNamespace is the XML namespace of FHIR resources.
const fhirNamespace = "http://hl7.org/fhir"

// fhirClinical lists the FHIR resource types that hold one person's health information.
var fhirClinical = map[string]bool{
	"Observation": true, "Condition": true, "AllergyIntolerance": true, "Procedure": true,
	"MedicationRequest": true, "MedicationStatement": true, "MedicationAdministration": true,
	"MedicationDispense": true, "Encounter": true, "DiagnosticReport": true, "Immunization": true,
	"CarePlan": true, "ServiceRequest": true, "Claim": true, "ExplanationOfBenefit": true,
	"Coverage": true, "DocumentReference": true, "ClinicalImpression": true,
	"FamilyMemberHistory": true, "Specimen": true, "ImagingStudy": true, "Appointment": true,
	"EpisodeOfCare": true, "NutritionOrder": true, "RiskAssessment": true, "Composition": true,
}

// XML renders an XML document as text: character data, displayName attributes and
// value attributes (as "element: value", the way FHIR carries all its data), one line
// per block element. In a C-CDA document the recordTarget's patient name and birth time
// are written as "Patient:" and "Date of birth:" lines, and observations and medicines
// are counted as signals; in a FHIR document the same is done for a Patient resource
// and the clinical resources. Nesting deeper than maxDepth stops the rendering
// with ErrTooDeep; malformed XML stops it with the text read so far.
func XML(src []byte, maxDepth int) ([]byte, Signals, error) {
	d := xml.NewDecoder(bytes.NewReader(src))
	d.Strict = false
	d.Entity = xml.HTMLEntity
	st := &xmlState{}
	for {
		t, err := d.RawToken()
		if err == io.EOF {
			return st.out.Bytes(), st.sig, nil
		}
		if err != nil {
			return st.out.Bytes(), st.sig, nil
		}
		switch v := t.(type) {
		case xml.StartElement:
			if len(st.stack) >= maxDepth {
				return st.out.Bytes(), st.sig, ErrTooDeep
			}
			st.start(v)
		case xml.EndElement:
			st.end(v.Name.Local)
		case xml.CharData:
			st.chars(v)
		}
	}
}

func (st *xmlState) start(v xml.StartElement) {
	name := v.Name.Local
	st.stack = append(st.stack, name)
	if !st.fhir && attr(v, "xmlns") == fhirNamespace {
		st.fhir = true
	}
	if st.fhir {
		st.fhirStart(v, name)
	}
	switch name {
	case "recordTarget":
		st.inTarget = len(st.stack)
	case "name":
		if st.inTarget > 0 {
			st.inName = true
			st.name.Reset()
		}
	case "birthTime":
		if st.inTarget > 0 {
			if val := attr(v, "value"); len(val) >= 8 {
				st.out.WriteString("\nDate of birth: " + val[:8] + "\n")
			}
		}
	case "observation", "substanceAdministration", "procedure", "encounter":
		st.sig.RecordClinical++
	case "tab", "br":
		st.out.WriteByte('\t')
	}
	if dn := attr(v, "displayName"); dn != "" {
		st.out.WriteString(dn)
		st.out.WriteByte('\n')
	}
	if val := attr(v, "value"); val != "" {
		st.out.WriteString(name)
		st.out.WriteString(": ")
		st.out.WriteString(val)
		st.out.WriteByte('\n')
	}
}

// fhirStart notes the FHIR resources: a Patient's name parts and birth date, and each
// clinical resource.
func (st *xmlState) fhirStart(v xml.StartElement, name string) {
	switch {
	case name == "Patient" && st.patient == 0:
		st.patient = len(st.stack)
		st.given, st.family = st.given[:0], st.family[:0]
	case fhirClinical[name]:
		st.sig.RecordClinical++
	case st.patient > 0 && len(st.stack) >= 2 && st.stack[len(st.stack)-2] == "name":
		switch val := attr(v, "value"); {
		case val == "":
		case name == "given":
			st.given = append(st.given, val)
		case name == "family", name == "text":
			st.family = append(st.family, val)
		}
	case st.patient > 0 && name == "birthDate":
		if val := attr(v, "value"); val != "" {
			st.out.WriteString("\nDate of birth: " + val + "\n")
		}
	}
}

// fhirEnd closes a Patient resource: one with a name is a patient the document names.
func (st *xmlState) fhirEnd() {
	if len(st.given)+len(st.family) > 0 {
		st.sig.RecordPatient++
		st.out.WriteString("\nPatient: " + strings.Join(append(st.given, st.family...), " ") + "\n")
	}
	st.patient = 0
}

func (st *xmlState) end(name string) {
	if st.patient > 0 && len(st.stack) == st.patient {
		st.fhirEnd()
	}
	if len(st.stack) > 0 {
		st.stack = st.stack[:len(st.stack)-1]
	}
	switch {
	case name == "recordTarget":
		st.inTarget = 0
	case name == "name" && st.inName:
		st.inName = false
		if st.name.Len() > 0 {
			st.sig.RecordPatient++
			st.out.WriteString("\nPatient: ")
			st.out.Write(bytes.TrimSpace(st.name.Bytes()))
			st.out.WriteString("\n")
		}
	}
	switch name {
	case "p", "tr", "row", "si", "title", "paragraph", "item", "li", "section", "entry", "td", "th", "tc", "c":
		st.out.WriteByte('\n')
	}
}

func (st *xmlState) chars(v xml.CharData) {
	if st.inName {
		if t := bytes.TrimSpace(v); len(t) > 0 {
			st.name.Write(t)
			st.name.WriteByte(' ')
		}
		return
	}
	if t := bytes.TrimSpace(v); len(t) > 0 {
		st.out.Write(t)
		st.out.WriteByte(' ')
	}
}

func attr(v xml.StartElement, key string) string {
	for _, a := range v.Attr {
		if strings.EqualFold(a.Name.Local, key) {
			return a.Value
		}
	}
	return ""
}
