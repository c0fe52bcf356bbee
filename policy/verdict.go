package policy

import "github.com/sealgate/sealgate/mail"

// Verdict is the policy decision for one message. It names detectors and counts, never
// the matched values.
type Verdict struct {
	PHI          bool        `json:"phi"`
	Score        float64     `json:"score"`            // the scorer's probability of PHI, 0-1
	Action       mail.Action `json:"action"`           // deliver|encrypt|block|quarantine
	Method       mail.Method `json:"method,omitempty"` // forced method, if a rule said so
	Reasons      []Reason    `json:"reasons"`
	BytesScanned int64       `json:"bytes_scanned"`
	Rule         string      `json:"rule,omitempty"`        // name of the rule that decided, if any
	Rules        []string    `json:"rules,omitempty"`       // every rule that matched, in order
	SubjectTag   string      `json:"subject_tag,omitempty"` // tag found in Subject, to be removed before delivery
	Unreadable   bool        `json:"unreadable,omitempty"`  // some content could not be read
}

// Reason is one detector's findings in one part of the message. Part is the MIME part
// path ("1.2"), "header" for the message header, or "subject".
type Reason struct {
	Detector   string  `json:"detector"`
	Part       string  `json:"part"`
	Count      int     `json:"count"`
	Confidence float64 `json:"confidence,omitempty"`
}
