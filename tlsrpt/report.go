package tlsrpt

import (
	"errors"
	"sort"
	"strings"
	"time"
)

// Report is an aggregate report in RFC 8460 §4.4's JSON shape.
type Report struct {
	OrganizationName string         `json:"organization-name"`
	DateRange        DateRange      `json:"date-range"`
	ContactInfo      string         `json:"contact-info"`
	ReportID         string         `json:"report-id"`
	Policies         []PolicyReport `json:"policies"`
}

// DateRange is the report's period; both ends are RFC 3339 date-times in
// UTC.
type DateRange struct {
	Start time.Time `json:"start-datetime"`
	End   time.Time `json:"end-datetime"`
}

// PolicyReport is one policy's sessions.
type PolicyReport struct {
	Policy         PolicyDesc      `json:"policy"`
	Summary        Summary         `json:"summary"`
	FailureDetails []FailureDetail `json:"failure-details,omitempty"`
}

// PolicyDesc describes the policy applied (RFC 8460 §4.4 "policy").
type PolicyDesc struct {
	PolicyType   string   `json:"policy-type"`
	PolicyString []string `json:"policy-string,omitempty"`
	PolicyDomain string   `json:"policy-domain"`
	MXHost       []string `json:"mx-host,omitempty"`
}

// Summary counts sessions.
type Summary struct {
	TotalSuccessful int `json:"total-successful-session-count"`
	TotalFailure    int `json:"total-failure-session-count"`
}

// FailureDetail groups failed sessions by result type and hosts.
type FailureDetail struct {
	ResultType            string `json:"result-type"`
	SendingMTAIP          string `json:"sending-mta-ip,omitempty"`
	ReceivingMXHostname   string `json:"receiving-mx-hostname,omitempty"`
	ReceivingMXHelo       string `json:"receiving-mx-helo,omitempty"`
	ReceivingIP           string `json:"receiving-ip,omitempty"`
	FailedSessionCount    int    `json:"failed-session-count"`
	AdditionalInformation string `json:"additional-information,omitempty"`
	FailureReasonCode     string `json:"failure-reason-code,omitempty"`
}

// ReportRequest says which report to build and who sends it.
type ReportRequest struct {
	// Domain is the policy domain; Day any time in the UTC day reported.
	Domain string
	Day    time.Time
	// Organization and Contact are the submitter's organization-name and
	// contact-info (delivery.tls.report); Submitter is its host name.
	Organization, Contact, Submitter string
}

// ErrNoResults is returned when a domain had no sessions that day.
var ErrNoResults = errors.New("tlsrpt: no results for the domain on that day")

// Report builds the aggregate report of req.Domain for the UTC day of
// req.Day (RFC 8460 §4.1: 00:00 to 24:00 UTC).
func (s *Store) Report(req ReportRequest) (*Report, error) {
	rep, start, domain := newReport(req)
	s.mu.Lock()
	d := s.days[start.Format(dayLayout)][domain]
	if d != nil {
		rep.Policies = d.reports()
	}
	s.mu.Unlock()
	if len(rep.Policies) == 0 {
		return nil, ErrNoResults
	}
	return rep, nil
}

// newReport is req's report without policies, its day and its domain.
func newReport(req ReportRequest) (*Report, time.Time, string) {
	start := req.Day.UTC().Truncate(24 * time.Hour)
	domain := strings.ToLower(strings.TrimSuffix(req.Domain, "."))
	return &Report{
		OrganizationName: req.Organization,
		ContactInfo:      req.Contact,
		DateRange:        DateRange{Start: start, End: start.Add(24 * time.Hour)},
		ReportID:         start.Format(dayLayout) + "_" + domain + "@" + req.Submitter,
	}, start, domain
}

// reports renders the domain's policies in a stable order.
func (d *domainAgg) reports() []PolicyReport {
	keys := make([]string, 0, len(d.policies))
	for k := range d.policies {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]PolicyReport, 0, len(keys))
	for _, k := range keys {
		out = append(out, d.policies[k].report())
	}
	return out
}

func (p *policyAgg) report() PolicyReport {
	r := PolicyReport{Policy: p.desc, Summary: Summary{TotalSuccessful: p.success}}
	for fd, n := range p.failures {
		fd.FailedSessionCount = n
		r.Summary.TotalFailure += n
		r.FailureDetails = append(r.FailureDetails, fd)
	}
	sort.Slice(r.FailureDetails, func(i, j int) bool {
		a, b := r.FailureDetails[i], r.FailureDetails[j]
		if a.ResultType != b.ResultType {
			return a.ResultType < b.ResultType
		}
		return a.ReceivingMXHostname+a.ReceivingIP < b.ReceivingMXHostname+b.ReceivingIP
	})
	return r
}
