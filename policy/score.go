package policy

import "github.com/sealgate/sealgate/policy/detect"

// evidence is what the detectors found in the whole message.
type evidence struct {
	counts       detect.Counts
	personalTo   bool // a To/Cc display name is a person's name
	personalFrom bool // the From display name is a person's name
}

// Groups of detectors, see the package documentation.
var (
	identifierIDs = []detect.ID{detect.SSN, detect.MBI, detect.MRN, detect.MemberID, detect.DOB,
		detect.Card, detect.PatientName, detect.HL7Patient, detect.CDAPatient}
	humanOnlyIDs = []detect.ID{detect.SSN, detect.MBI, detect.MemberID, detect.HL7Patient, detect.CDAPatient}
	healthIDs    = []detect.ID{detect.Condition, detect.Drug, detect.Procedure, detect.Specialty,
		detect.LabResult, detect.Dose, detect.ICD10, detect.NDC, detect.HL7Clinical,
		detect.CDAClinical, detect.DEA}
	clinicalIDs = []detect.ID{detect.LabResult, detect.ICD10, detect.HL7Clinical, detect.CDAClinical}
)

// phi applies the HIPAA test: health information tied to an individual.
func (ev evidence) phi() bool {
	c := &ev.counts
	if c[detect.Veterinary] > 0 && c.Total(humanOnlyIDs...) == 0 {
		return false // the health information is an animal's
	}
	health := c.Total(healthIDs...)
	if c.Total(identifierIDs...) > 0 && health > 0 {
		return true
	}
	if c[detect.NameNearHealth] > 0 && c[detect.BulkMail] == 0 {
		return true
	}
	if ev.personalFrom && c[detect.WriterHealth] > 0 && c[detect.BulkMail] == 0 {
		return true // a person writing about their own health ("my insulin")
	}
	return ev.addressedHealth()
}

// addressedHealth reports health information that belongs to the person the message
// is written to: a greeting or the recipient's name in the text, together with health
// words after "your"/"su", care after "your" ("your appointment") in a message with
// health vocabulary, or a clinical finding (lab value, diagnosis code). Bulk mail
// (newsletters, marketing) needs a clinical finding.
func (ev evidence) addressedHealth() bool {
	c := &ev.counts
	bulk := c[detect.BulkMail] > 0
	addressed := c[detect.Addressed] > 0 || (ev.personalTo && !bulk)
	if !addressed {
		return false
	}
	if c.Total(clinicalIDs...) > 0 {
		return true
	}
	if bulk {
		return false
	}
	vocab := c.Total(detect.Condition, detect.Drug, detect.Procedure, detect.Specialty)
	return c[detect.PersonalHealth] > 0 || (c[detect.PersonalCare] > 0 && vocab > 0)
}
