package tlsrpt

import "testing"

// FuzzParseRUA: a TLSRPT record parses or fails without panicking, and
// only mailto: and https: URIs come out.
func FuzzParseRUA(f *testing.F) {
	f.Add("v=TLSRPTv1; rua=mailto:reports@example.com,https://reporting.example.com/v1/tlsrpt")
	f.Add("v=TLSRPTv1;rua=mailto:%40@x")
	f.Add("v=TLSRPTv1; rua=,,;rua=https://")
	f.Fuzz(func(t *testing.T, rec string) {
		urls, err := parseRUA(rec)
		if err != nil {
			return
		}
		for _, u := range urls {
			if u.Scheme != "mailto" && u.Scheme != "https" {
				t.Fatalf("scheme %q", u.Scheme)
			}
		}
	})
}

// FuzzValidate: the validator never panics on arbitrary JSON.
func FuzzValidate(f *testing.F) {
	f.Add([]byte(`{"policies":[{"policy":{},"summary":{"total-failure-session-count":1},"failure-details":[{}]}]}`))
	f.Add([]byte(`{"date-range":{"start-datetime":"x"}}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		_ = Validate(doc)
	})
}
