package policy

import "github.com/sealgate/sealgate/policy/detect"

// evidence is what the detectors found in the whole message.
type evidence struct {
	counts       detect.Counts
	personalTo   bool // a To/Cc display name is a person's name
	personalFrom bool // the From display name is a person's name
}

// identifiers counts findings that identify an individual.
func identifiers(c *detect.Counts) int {
	return c.Total(detect.SSN, detect.MBI, detect.MRN, detect.MemberID, detect.DOB, detect.Card,
		detect.Contact, detect.PatientName, detect.HL7Patient, detect.RecordPatient)
}

// humanIdentifiers counts identifiers that only people have (no pet has an SSN).
func humanIdentifiers(c *detect.Counts) int {
	return c.Total(detect.SSN, detect.MBI, detect.MemberID, detect.HL7Patient, detect.RecordPatient)
}

// healthInfo counts findings of health information.
func healthInfo(c *detect.Counts) int {
	return c.Total(detect.Condition, detect.Drug, detect.Procedure, detect.Specialty,
		detect.LabResult, detect.Dose, detect.ICD10, detect.NDC, detect.HL7Clinical,
		detect.RecordClinical, detect.DEA)
}

// clinicalFindings counts health information that is about one person by its nature: a
// lab value, a diagnosis code, a clinical HL7 segment or CDA entry.
func clinicalFindings(c *detect.Counts) int {
	return c.Total(detect.LabResult, detect.ICD10, detect.HL7Clinical, detect.RecordClinical)
}

// structuredRecord reports a clinical record whose structure names its patient: an HL7
// v2 PID segment with clinical segments, a C-CDA recordTarget with clinical entries, or
// a validated SSN or MBI beside a diagnosis code or lab result. Such a message is PHI
// whatever the scorer says.
func structuredRecord(c *detect.Counts) bool {
	switch {
	case c[detect.HL7Patient] > 0 && c[detect.HL7Clinical] > 0:
		return true
	case c[detect.RecordPatient] > 0 && c[detect.RecordClinical] > 0:
		return true
	}
	return c.Total(detect.SSN, detect.MBI) > 0 && c.Total(detect.ICD10, detect.LabResult) > 0
}

// phi applies the rules of thumb of the HIPAA test (health information tied to an
// individual); the scorer weighs their answer as one of its features.
func (ev evidence) phi() bool {
	c := &ev.counts
	if c[detect.Veterinary] > 0 && humanIdentifiers(c) == 0 {
		return false // the health information is an animal's
	}
	if identifiers(c) > 0 && healthInfo(c) > 0 {
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
	if clinicalFindings(c) > 0 {
		return true
	}
	if bulk {
		return false
	}
	vocab := c.Total(detect.Condition, detect.Drug, detect.Procedure, detect.Specialty)
	return c[detect.PersonalHealth] > 0 || (c[detect.PersonalCare] > 0 && vocab > 0)
}
