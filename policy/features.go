package policy

import (
	"math"

	"github.com/sealgate/sealgate/policy/detect"
)

// The scorer's features. Each is a number computed from what the scan found: detector
// and cue-group totals (log-scaled counts), where findings sit, what the header says
// about the people involved, and products of an identifier or an addressed person with
// health information - the link HIPAA asks about. Their weights are in model_weights.go,
// fitted by TestTrainModel (see docs/phi-handling.md); the names are stable, since
// `sealgate check --explain` prints them.

// feature is one named input of the scorer.
type feature struct {
	name string
	fn   func(*featureInput) float64
}

// featureInput is what features are computed from.
type featureInput struct {
	c   *detect.Counts // totals over the whole message
	sig *msgSignals
	s   *scan
}

func lg(n int) float64 { return math.Log1p(float64(max(n, 0))) }

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Groups of detectors the features combine.
var (
	idIdentifiers = []detect.ID{detect.SSN, detect.MBI, detect.MRN, detect.MemberID, detect.DOB, detect.Card,
		detect.Contact, detect.PatientName, detect.HL7Patient, detect.RecordPatient, detect.AgeSex}
	idVocab    = []detect.ID{detect.Condition, detect.Drug, detect.Procedure, detect.Specialty}
	idClinical = []detect.ID{detect.LabResult, detect.ICD10, detect.HL7Clinical, detect.RecordClinical, detect.Dose}
	idSpecific = []detect.ID{detect.Condition, detect.Drug, detect.LabResult, detect.ICD10, detect.HL7Clinical,
		detect.RecordClinical, detect.Dose}
)

func (in *featureInput) total(ids []detect.ID) int { return in.c.Total(ids...) }

// health is how much health information the message holds, log-scaled.
func (in *featureInput) health() float64 {
	return lg(in.total(idVocab) + 2*in.total(idClinical))
}

// healthContext is how much places the message in health care: health information,
// the words of a care setting, a health-care sender.
func (in *featureInput) healthContext() float64 {
	n := in.total(idVocab) + 2*in.total(idClinical) + int(in.c[detect.CueHealthCare])
	if in.sig.fromHealth || in.sig.toHealth {
		n += 2
	}
	return lg(n)
}

// healthContext reports whether anything places the message in health care. Without
// it there is no health information to protect, whatever the scorer would say (an oil
// change "appointment", a gym "member ID").
func (s *scan) healthContext() bool {
	in := featureInput{c: &s.total, sig: &s.msg, s: s}
	return in.healthContext() > 0
}

// person is how strongly the message is tied to one individual: identifiers, a named
// or addressed recipient, a person's name near health information.
func (in *featureInput) person() float64 {
	c := in.c
	n := in.total(idIdentifiers) + int(c[detect.NameNearHealth]) + int(c[detect.Addressed])
	if in.sig.toPerson || in.sig.toPhone {
		n++
	}
	return lg(n)
}

// features lists the scorer's inputs in the order of the weights.
var features = func() []feature {
	var fs []feature
	for id := detect.ID(0); id < detect.NumIDs; id++ {
		id := id
		fs = append(fs, feature{"n_" + id.String(), func(in *featureInput) float64 { return lg(int(in.c[id])) }})
	}
	fs = append(fs,
		feature{"subject_identifier", func(in *featureInput) float64 { return lg(in.sig.subject.Total(idIdentifiers...)) }},
		feature{"subject_health", func(in *featureInput) float64 {
			return lg(in.sig.subject.Total(idVocab...) + in.sig.subject.Total(idClinical...))
		}},
		feature{"subject_care", func(in *featureInput) float64 { return lg(int(in.sig.subject[detect.CueCare])) }},
		feature{"subject_name_health", func(in *featureInput) float64 {
			return lg(int(in.sig.subject[detect.NameNearHealth] + in.sig.subject[detect.PatientName]))
		}},
		feature{"filename_identifier", func(in *featureInput) float64 { return lg(in.sig.filenames.Total(idIdentifiers...)) }},
		feature{"filename_health", func(in *featureInput) float64 {
			return lg(in.sig.filenames.Total(idVocab...) + in.sig.filenames.Total(idClinical...))
		}},
		feature{"filename_name_health", func(in *featureInput) float64 {
			return lg(int(in.sig.filenames[detect.NameNearHealth]))
		}},
		feature{"nested_messages", func(in *featureInput) float64 { return lg(in.sig.nested) }},
		feature{"attachments", func(in *featureInput) float64 { return lg(in.sig.attached) }},
		feature{"to_count", func(in *featureInput) float64 { return lg(in.sig.toCount) }},
		feature{"to_person", func(in *featureInput) float64 { return b2f(in.sig.toPerson) }},
		feature{"to_phone", func(in *featureInput) float64 { return b2f(in.sig.toPhone) }},
		feature{"to_role", func(in *featureInput) float64 { return b2f(in.sig.toRole) }},
		feature{"to_org", func(in *featureInput) float64 { return b2f(in.sig.toOrg) }},
		feature{"to_outside", func(in *featureInput) float64 { return b2f(in.sig.toOutside) }},
		feature{"from_person", func(in *featureInput) float64 { return b2f(in.sig.fromPerson) }},
		feature{"from_role", func(in *featureInput) float64 { return b2f(in.sig.fromRole) }},
		feature{"from_health", func(in *featureInput) float64 { return b2f(in.sig.fromHealth) }},
		feature{"to_health", func(in *featureInput) float64 { return b2f(in.sig.toHealth) }},
		feature{"to_named", func(in *featureInput) float64 { return b2f(in.sig.toNamed) }},
		feature{"from_named", func(in *featureInput) float64 { return b2f(in.sig.fromNamed) }},
		feature{"link_to_named_health", func(in *featureInput) float64 {
			return b2f(in.sig.toNamed) * in.health()
		}},
		feature{"health_context", func(in *featureInput) float64 { return in.healthContext() }},
		feature{"list_mail", func(in *featureInput) float64 { return b2f(in.sig.listMail) }},
		feature{"nested_list_mail", func(in *featureInput) float64 { return b2f(in.sig.nestedList) }},
		feature{"reply_chain", func(in *featureInput) float64 { return b2f(in.sig.replyChain) }},
		feature{"text_size", func(in *featureInput) float64 { return math.Log1p(float64(in.s.scanned) / 1024) }},
		feature{"health", func(in *featureInput) float64 { return in.health() }},
		feature{"person", func(in *featureInput) float64 { return in.person() }},
		feature{"link_identifier_health", func(in *featureInput) float64 {
			return lg(in.total(idIdentifiers)) * in.health()
		}},
		feature{"link_specific_identifier", func(in *featureInput) float64 {
			return lg(in.total(idIdentifiers)) * lg(in.total(idSpecific))
		}},
		feature{"link_person_health", func(in *featureInput) float64 { return in.person() * in.health() }},
		feature{"link_person_care", func(in *featureInput) float64 {
			return in.person() * lg(int(in.c[detect.CueCare]+in.c[detect.CueBilling]))
		}},
		feature{"link_you_health", func(in *featureInput) float64 {
			return lg(int(in.c[detect.CueYou])) * in.health()
		}},
		feature{"link_you_care", func(in *featureInput) float64 {
			return lg(int(in.c[detect.CueYou])) * lg(int(in.c[detect.CueCare]+in.c[detect.CueBilling]))
		}},
		feature{"link_me_health", func(in *featureInput) float64 { return lg(int(in.c[detect.CueMe])) * in.health() }},
		feature{"link_family_health", func(in *featureInput) float64 {
			return lg(int(in.c[detect.CueFamily])) * in.health()
		}},
		feature{"link_to_person_health", func(in *featureInput) float64 {
			return b2f(in.sig.toPerson || in.sig.toPhone) * in.health()
		}},
		feature{"link_to_person_care", func(in *featureInput) float64 {
			return b2f(in.sig.toPerson || in.sig.toPhone) * lg(int(in.c[detect.CueCare]+in.c[detect.CueBilling]))
		}},
		feature{"link_from_person_health", func(in *featureInput) float64 {
			return b2f(in.sig.fromPerson) * in.health()
		}},
		feature{"link_individual_writes_health", func(in *featureInput) float64 {
			return b2f(in.sig.individualToHealth()) * in.health()
		}},
		feature{"link_time_care", func(in *featureInput) float64 {
			return lg(int(in.c[detect.CueTime])) * lg(int(in.c[detect.CueCare]))
		}},
		feature{"rules_verdict", func(in *featureInput) float64 {
			ev := evidence{counts: *in.c, personalTo: in.s.personalTo, personalFrom: in.s.personalFrom}
			return b2f(ev.phi())
		}},
		feature{"broadcast_share", func(in *featureInput) float64 {
			return lg(int(in.c[detect.CueBroadcast]+in.c[detect.CueTeaching]+in.c[detect.CueAggregate]+
				in.c[detect.CueNews]+in.c[detect.CueTech]+in.c[detect.CueWorkforce]+in.c[detect.CueGeneric])) -
				lg(int(in.c[detect.CueYou]+in.c[detect.CueMe]+in.c[detect.CueCare]+in.c[detect.CueBilling]))
		}},
	)
	return fs
}()

// bagSize is the number of word-hash buckets the scorer weighs.
const bagSize = 1 << 14

// vector computes every feature of a scanned message: the named features, and the
// word buckets that are not empty.
func (s *scan) vector() featureVector {
	in := &featureInput{c: &s.total, sig: &s.msg, s: s}
	v := featureVector{x: make([]float64, len(features))}
	for i, f := range features {
		v.x[i] = f.fn(in)
	}
	for _, k := range s.opt.Bag.Touched {
		v.bag = append(v.bag, bagEntry{k: int(k), v: math.Log1p(float64(s.opt.Bag.Counts[k]))})
	}
	return v
}

// featureVector is a message's features: the named ones, and its non-empty word
// buckets with their log counts.
type featureVector struct {
	x   []float64
	bag []bagEntry
}

type bagEntry struct {
	k int
	v float64
}
