package detect

// ID names one detector. Findings are kept as counts per ID, never as matched text.
type ID uint8

// Detectors. Identifiers of an individual come first, then health information, then the
// context signals the scorer uses to tie the two together.
const (
	SSN            ID = iota // US Social Security number, SSA rules
	MBI                      // Medicare Beneficiary Identifier, CMS format
	MRN                      // medical record or patient account number, with context words
	MemberID                 // health-plan member or subscriber ID, with context words
	DOB                      // a date next to date-of-birth words
	Card                     // payment card number, Luhn and IIN
	Contact                  // a personal phone number or street address, after context words
	PatientName              // a person's name after a patient label ("Patient:", "Paciente:")
	HL7Patient               // HL7 v2 PID segment with a patient name
	RecordPatient            // C-CDA recordTarget or FHIR Patient resource naming its patient
	NameNearHealth           // a person's name in the same passage as health information
	NameNearCare             // a person's name in the same passage as a procedure, specialty or care event only
	AgeSex                   // clinical shorthand for one person's age and sex: "71M", "34F", "6yo"
	Addressed                // the message greets or names its recipient
	Condition                // condition, diagnosis or symptom vocabulary
	Drug                     // medicine names and generic-name stems
	Procedure                // procedures, tests, devices, vaccines, clinical-care words
	Specialty                // medical specialties
	LabResult                // analyte with value and unit or reference range
	Dose                     // a medicine dose ("500 mg")
	ICD10                    // ICD-10-CM code with clinical context
	NDC                      // National Drug Code with context
	NPI                      // National Provider Identifier (identifies a provider)
	DEA                      // DEA registration number (identifies a prescriber)
	HL7Clinical              // HL7 v2 OBX/DG1/RXE/AL1/PRB segments
	RecordClinical           // C-CDA clinical entries or FHIR clinical resources
	PersonalHealth           // health information addressed to the reader ("your ...")
	PersonalCare             // care addressed to the reader ("your appointment", "your results")
	WriterHealth             // the writer's own health ("my insulin")
	Veterinary               // words that place the message in animal care
	BulkMail                 // newsletter or marketing markers (unsubscribe, webinar)

	// Cue groups: word families the scorer weighs as context (data/cues.txt). They are
	// counted like detectors but are not findings, so they never appear as reasons.
	CueYou         // second person: you, your, usted, vous, 您
	CueMe          // first person: I, my, mi, je, 我
	CueCare        // an individual's care: appointment, refill, results, pickup, discharge
	CueBilling     // payment for care: balance, statement, copay, claim, collections
	CueFamily      // relatives and caregivers: mother, son, caregiver, guardian
	CueTime        // a personal time: tomorrow, Monday, 10:40 am
	CueInstruct    // instructions to a person: please, bring, arrive, take, call
	CueBroadcast   // lists and campaigns: newsletter, webinar, everyone, register, promo
	CueTeaching    // teaching and examples: quiz, example, lesson, de-identified, sample
	CueAggregate   // populations and statistics: percent, rate, cohort, survey
	CueWorkforce   // staff, jobs and credentials: hiring, shift, credentialing, license
	CueTech        // software and interface specifications: release, endpoint, schema
	CueNews        // news and history: reported, century, famous, eponym
	CueCommerce    // non-health commerce: order, shipment, tracking, invoice
	CueSocial      // social chat: party, game, dinner, weekend
	CueAnimal      // animals and their care: pet, dog, feline, vaccine reminder for Max
	CuePlaceholder // placeholders: lorem, xxx, placeholder, dummy, test patient
	CueHealthCare  // the setting of health care: clinic, pharmacy, nurse, MD, patient, refill
	CueGeneric     // a general audience: if you, anyone who, all patients, Dear Patient, valued member
	NumIDs         // number of detectors; not a detector
)

var idNames = [NumIDs]string{
	SSN: "us_ssn", MBI: "medicare_mbi", MRN: "mrn", MemberID: "member_id", DOB: "dob",
	Card: "credit_card", Contact: "personal_contact", PatientName: "patient_name", HL7Patient: "hl7_patient",
	RecordPatient: "record_patient", NameNearHealth: "name_near_health", NameNearCare: "name_near_care", AgeSex: "age_sex",
	Addressed: "addressed_recipient",
	Condition: "condition", Drug: "drug", Procedure: "procedure", Specialty: "specialty",
	LabResult: "lab_result", Dose: "dose", ICD10: "icd10_cm", NDC: "ndc", NPI: "npi",
	DEA: "dea_number", HL7Clinical: "hl7_clinical", RecordClinical: "record_clinical",
	PersonalHealth: "personal_health", PersonalCare: "personal_care", WriterHealth: "writer_health", Veterinary: "veterinary_context", BulkMail: "bulk_mail_context",
	CueYou: "cue_you", CueMe: "cue_me", CueCare: "cue_care", CueBilling: "cue_billing", CueFamily: "cue_family",
	CueTime: "cue_time", CueInstruct: "cue_instruct", CueBroadcast: "cue_broadcast", CueTeaching: "cue_teaching",
	CueAggregate: "cue_aggregate", CueWorkforce: "cue_workforce", CueTech: "cue_tech", CueNews: "cue_news",
	CueCommerce: "cue_commerce", CueSocial: "cue_social", CueAnimal: "cue_animal", CuePlaceholder: "cue_placeholder",
	CueHealthCare: "cue_healthcare", CueGeneric: "cue_generic",
}

// FirstCue is the first cue group; IDs from it on are context, not findings.
const FirstCue = CueYou

// IsCue reports whether id is a cue group rather than a detector finding.
func (id ID) IsCue() bool { return id >= FirstCue && id < NumIDs }

// cueNames maps the group names of data/cues.txt to their IDs.
func cueID(name string) (ID, bool) {
	for id := FirstCue; id < NumIDs; id++ {
		if idNames[id] == "cue_"+name {
			return id, true
		}
	}
	return 0, false
}

var idConfidence = [NumIDs]float64{
	SSN: 0.9, MBI: 0.95, Contact: 0.6, MRN: 0.8, MemberID: 0.8, DOB: 0.9, Card: 0.9, PatientName: 0.85,
	HL7Patient: 0.95, RecordPatient: 0.95, NameNearHealth: 0.6, NameNearCare: 0.4, AgeSex: 0.5, Addressed: 0.5,
	Condition: 0.7, Drug: 0.7, Procedure: 0.6, Specialty: 0.5, LabResult: 0.85, Dose: 0.5,
	ICD10: 0.8, NDC: 0.8, NPI: 0.9, DEA: 0.9, HL7Clinical: 0.9, RecordClinical: 0.9,
	PersonalHealth: 0.6, PersonalCare: 0.4, WriterHealth: 0.5, Veterinary: 0.5, BulkMail: 0.5,
}

// String returns the detector's stable name as used in verdict reasons.
func (id ID) String() string {
	if id >= NumIDs {
		return "unknown"
	}
	return idNames[id]
}

// Confidence returns how much a single finding of this detector is trusted, 0-1.
func (id ID) Confidence() float64 {
	if id >= NumIDs {
		return 0
	}
	return idConfidence[id]
}

// Counts holds one count per detector.
type Counts [NumIDs]int32

// Add adds every count of o to c.
func (c *Counts) Add(o *Counts) {
	for i := range c {
		c[i] += o[i]
	}
}

// Total returns the sum of the counts of the given detectors.
func (c *Counts) Total(ids ...ID) int {
	n := 0
	for _, id := range ids {
		n += int(c[id])
	}
	return n
}
