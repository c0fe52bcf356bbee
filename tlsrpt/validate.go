package tlsrpt

import (
	"encoding/json"
	"fmt"
	"time"
)

// Validate checks a JSON report against RFC 8460 §4.4 and Appendix B: the
// required fields with their types, date-times in UTC, known policy and
// result types, counts that are non-negative integers, and no unknown
// fields. It is what tests (and a curious operator) hold reports to.
func Validate(data []byte) error {
	var top map[string]any
	if err := json.Unmarshal(data, &top); err != nil {
		return fmt.Errorf("tlsrpt: report is not a JSON object: %w", err)
	}
	if err := fields(top, "report", []string{"organization-name", "date-range", "contact-info", "report-id", "policies"}, nil); err != nil {
		return err
	}
	for _, k := range []string{"organization-name", "contact-info", "report-id"} {
		if s, ok := top[k].(string); !ok || s == "" {
			return fmt.Errorf("tlsrpt: %s must be a non-empty string", k)
		}
	}
	if err := validateRange(top["date-range"]); err != nil {
		return err
	}
	pols, ok := top["policies"].([]any)
	if !ok || len(pols) == 0 {
		return fmt.Errorf("tlsrpt: policies must be a non-empty array")
	}
	for i, p := range pols {
		if err := validatePolicy(p); err != nil {
			return fmt.Errorf("policies[%d]: %w", i, err)
		}
	}
	return nil
}

// fields checks that m has every required key and no key outside required
// and optional.
func fields(m map[string]any, what string, required, optional []string) error {
	known := map[string]bool{}
	for _, k := range append(append([]string(nil), required...), optional...) {
		known[k] = true
	}
	for _, k := range required {
		if _, ok := m[k]; !ok {
			return fmt.Errorf("tlsrpt: %s lacks %q", what, k)
		}
	}
	for k := range m {
		if !known[k] {
			return fmt.Errorf("tlsrpt: %s has unknown field %q", what, k)
		}
	}
	return nil
}

func validateRange(v any) error {
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("tlsrpt: date-range must be an object")
	}
	if err := fields(m, "date-range", []string{"start-datetime", "end-datetime"}, nil); err != nil {
		return err
	}
	var ts [2]time.Time
	for i, k := range []string{"start-datetime", "end-datetime"} {
		s, _ := m[k].(string)
		t, err := time.Parse(time.RFC3339, s)
		if err != nil || t.Location() != time.UTC {
			return fmt.Errorf("tlsrpt: %s must be an RFC 3339 UTC date-time", k)
		}
		ts[i] = t
	}
	if !ts[0].Before(ts[1]) {
		return fmt.Errorf("tlsrpt: date-range ends before it starts")
	}
	return nil
}

func validatePolicy(v any) error {
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("tlsrpt: policy entry must be an object")
	}
	if err := fields(m, "policy entry", []string{"policy", "summary"}, []string{"failure-details"}); err != nil {
		return err
	}
	pol, _ := m["policy"].(map[string]any)
	if err := fields(pol, "policy", []string{"policy-type", "policy-domain"}, []string{"policy-string", "mx-host"}); err != nil {
		return err
	}
	switch pol["policy-type"] {
	case PolicySTS, PolicyTLSA, PolicyNotFound:
	default:
		return fmt.Errorf("tlsrpt: unknown policy-type %v", pol["policy-type"])
	}
	if s, ok := pol["policy-domain"].(string); !ok || s == "" {
		return fmt.Errorf("tlsrpt: policy-domain must be a non-empty string")
	}
	for _, k := range []string{"policy-string", "mx-host"} {
		if err := stringArray(pol, k); err != nil {
			return err
		}
	}
	failed, err := validateSummary(m["summary"])
	if err != nil {
		return err
	}
	return validateDetails(m["failure-details"], failed)
}

func stringArray(m map[string]any, k string) error {
	v, ok := m[k]
	if !ok {
		return nil
	}
	arr, ok := v.([]any)
	if !ok {
		return fmt.Errorf("tlsrpt: %s must be an array of strings", k)
	}
	for _, e := range arr {
		if _, ok := e.(string); !ok {
			return fmt.Errorf("tlsrpt: %s must be an array of strings", k)
		}
	}
	return nil
}

// validateSummary checks the counts and returns the failure total.
func validateSummary(v any) (int, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return 0, fmt.Errorf("tlsrpt: summary must be an object")
	}
	keys := []string{"total-successful-session-count", "total-failure-session-count"}
	if err := fields(m, "summary", keys, nil); err != nil {
		return 0, err
	}
	var n [2]int
	for i, k := range keys {
		c, ok := count(m[k])
		if !ok {
			return 0, fmt.Errorf("tlsrpt: %s must be a non-negative integer", k)
		}
		n[i] = c
	}
	return n[1], nil
}

func count(v any) (int, bool) {
	f, ok := v.(float64)
	if !ok || f < 0 || f != float64(int(f)) {
		return 0, false
	}
	return int(f), true
}

var resultTypes = map[string]bool{
	ResultSTARTTLSNotSupported: true, ResultCertHostMismatch: true, ResultCertExpired: true,
	ResultCertNotTrusted: true, ResultValidationFailure: true, ResultTLSAInvalid: true,
	ResultDNSSECInvalid: true, ResultDANERequired: true, ResultSTSFetchError: true,
	ResultSTSInvalid: true, ResultSTSWebPKIError: true,
}

// validateDetails checks failure-details and that their counts add up to
// the summary's failure total.
func validateDetails(v any, failed int) error {
	if v == nil {
		if failed != 0 {
			return fmt.Errorf("tlsrpt: failures counted but no failure-details")
		}
		return nil
	}
	arr, ok := v.([]any)
	if !ok {
		return fmt.Errorf("tlsrpt: failure-details must be an array")
	}
	sum := 0
	for _, e := range arr {
		m, _ := e.(map[string]any)
		// failure-error-code is the name RFC 8460's own example uses.
		if err := fields(m, "failure-details entry", []string{"result-type", "failed-session-count"},
			[]string{"sending-mta-ip", "receiving-mx-hostname", "receiving-mx-helo", "receiving-ip",
				"additional-information", "failure-reason-code", "failure-error-code"}); err != nil {
			return err
		}
		if rt, _ := m["result-type"].(string); !resultTypes[rt] {
			return fmt.Errorf("tlsrpt: unknown result-type %q", rt)
		}
		n, ok := count(m["failed-session-count"])
		if !ok {
			return fmt.Errorf("tlsrpt: failed-session-count must be a non-negative integer")
		}
		sum += n
	}
	if sum != failed {
		return fmt.Errorf("tlsrpt: failure-details count %d sessions, the summary %d", sum, failed)
	}
	return nil
}
