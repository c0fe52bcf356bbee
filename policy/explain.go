package policy

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/sealgate/sealgate/policy/detect"
)

// Explanation is what `sealgate check --explain` prints: the verdict, what was read and
// what was not in each part, where the detectors fired, and which of the scorer's
// features moved the score. Matched values appear only when asked for.
type Explanation struct {
	Verdict       Verdict        `json:"verdict"`
	Threshold     float64        `json:"threshold"`         // the score from which a message is PHI
	Structured    bool           `json:"structured_record"` // an HL7/C-CDA record or SSN/MBI with clinical data decided alone
	Parts         []PartReport   `json:"parts"`
	Contributions []Contribution `json:"contributions"` // largest effect on the score first
	Findings      []Finding      `json:"findings"`
}

// PartReport is what was read of one part: "subject", a MIME part path ("1.2"), or a
// nested message's subject ("2/subject").
type PartReport struct {
	Part       string         `json:"part"`
	MediaType  string         `json:"media_type,omitempty"`
	BytesRead  int64          `json:"bytes_read"`
	Unreadable []string       `json:"unreadable,omitempty"` // why content of the part could not be read
	Detectors  map[string]int `json:"detectors,omitempty"`
}

// Finding is one detector's hit: the part, and the byte range of the token where it
// fired in the text read from the part. Value is set only with ShowValues.
type Finding struct {
	Detector string `json:"detector"`
	Part     string `json:"part"`
	Offset   int    `json:"offset"`
	Length   int    `json:"length"`
	Value    string `json:"value,omitempty"`
}

// ExplainOptions says how much an explanation may show.
type ExplainOptions struct {
	// ShowValues puts the matched text into each finding. It is for an operator at the
	// console; an explanation with values must never reach a log.
	ShowValues bool
	// MaxFindings bounds the findings listed (default 200).
	MaxFindings int
}

// explainer collects an explanation while a message is scanned.
type explainer struct {
	opt      ExplainOptions
	parts    map[string]*PartReport
	order    []string
	findings []Finding
	dropped  int
}

func (x *explainer) part(name string) *PartReport {
	if p := x.parts[name]; p != nil {
		return p
	}
	p := &PartReport{Part: name}
	x.parts[name] = p
	x.order = append(x.order, name)
	return p
}

// trace returns the detect.Options.Trace function for text read from part.
func (x *explainer) trace(part string, text []byte) func(detect.ID, int, int) {
	return func(id detect.ID, start, end int) {
		if id.IsCue() {
			return
		}
		if len(x.findings) >= x.opt.MaxFindings {
			x.dropped++
			return
		}
		f := Finding{Detector: id.String(), Part: part, Offset: start, Length: end - start}
		if x.opt.ShowValues && start >= 0 && end <= len(text) && start < end {
			f.Value = strings.ToValidUTF8(string(text[start:end]), "?")
		}
		x.findings = append(x.findings, f)
	}
}

// Explain checks msg like Check and says why the verdict is what it is.
func (e *Engine) Explain(ctx context.Context, msg []byte, in Input, opt ExplainOptions) (Explanation, error) {
	if opt.MaxFindings <= 0 {
		opt.MaxFindings = 200
	}
	cctx, cancel := context.WithTimeout(ctx, e.cfg.Limits.MaxTime)
	defer cancel()
	s := newScan(cctx, e)
	s.explain = &explainer{opt: opt, parts: map[string]*PartReport{}}
	e.walk(s, msg, nil)
	v := e.decide(s, in)
	fv := s.vector()
	ex := Explanation{Verdict: v, Threshold: modelThreshold, Structured: structuredRecord(&s.total),
		Contributions: trainedModel.contributions(fv.x, 12)}
	words := 0.0
	for _, b := range fv.bag {
		words += trainedModel.bag[b.k] * b.v
	}
	ex.Contributions = append(ex.Contributions, Contribution{Feature: "words_and_pairs", Value: float64(len(fv.bag)), Weight: words},
		Contribution{Feature: "bias", Value: 1, Weight: trainedModel.bias})
	for _, r := range v.Reasons {
		p := s.explain.part(r.Part)
		if name, ok := strings.CutPrefix(r.Detector, "unreadable_"); ok {
			p.Unreadable = append(p.Unreadable, name)
			continue
		}
		if p.Detectors == nil {
			p.Detectors = map[string]int{}
		}
		p.Detectors[r.Detector] += r.Count
	}
	for _, name := range s.explain.order {
		ex.Parts = append(ex.Parts, *s.explain.parts[name])
	}
	sort.SliceStable(ex.Parts, func(i, j int) bool { return partLess(ex.Parts[i].Part, ex.Parts[j].Part) })
	ex.Findings = s.explain.findings
	if ex.Findings == nil {
		ex.Findings = []Finding{}
	}
	if d := s.explain.dropped; d > 0 {
		ex.Findings = append(ex.Findings, Finding{Detector: fmt.Sprintf("(%d more findings not listed)", d)})
	}
	s.opt.Bag.Reset()
	e.bags.Put(s.opt.Bag)
	if err := ctx.Err(); err != nil {
		return ex, fmt.Errorf("policy: check cancelled: %w", err)
	}
	return ex, nil
}

// partLess orders "subject" and "header" first, then part paths.
func partLess(a, b string) bool {
	rank := func(p string) int {
		switch p {
		case "subject":
			return 0
		case "header":
			return 1
		}
		return 2
	}
	if ra, rb := rank(a), rank(b); ra != rb {
		return ra < rb
	}
	return a < b
}

// noteText records text read from part, for an explanation; it returns the trace
// function the detectors report their findings to, or nil.
func (s *scan) noteText(part string, text []byte) func(detect.ID, int, int) {
	if s.explain == nil {
		return nil
	}
	s.explain.part(part).BytesRead += int64(len(text))
	return s.explain.trace(part, text)
}

// notePart records a leaf part's media type, for an explanation.
func (s *scan) notePart(part, mediaType string) {
	if s.explain != nil {
		s.explain.part(part).MediaType = mediaType
	}
}
