package config

import (
	"strings"
	"testing"
)

// Regression: `config check` refused "<>" in allowed_senders, so a relaying
// MTA's own bounces (MAIL FROM:<>) could only be allowed with "*", which
// drops the sender restriction. "<>" is accepted; look-alikes are not.
func TestAllowedSendersNullSender(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		pattern string
		ok      bool
	}{
		{`"<>"`, true},
		{`"< >"`, false},
		{`"<*@example.org>"`, false},
		{`"<<>>"`, false},
	} {
		c, err := Decode("null.yaml", []byte(`
data_dir: /data
listeners: [{name: l, address: "127.0.0.1:25", tls: none, auth: none}]
clients: [{name: c, networks: 127.0.0.1, allowed_senders: ["*@example.org", `+tc.pattern+`]}]
portal: {base_url: "http://localhost:8080"}
`))
		if err != nil {
			t.Fatal(err)
		}
		err = c.Validate(Options{})
		if tc.ok && err != nil {
			t.Errorf("%s refused:\n%v", tc.pattern, err)
		}
		if !tc.ok && (err == nil || !strings.Contains(err.Error(), "allowed_senders[1]")) {
			t.Errorf("%s: got %v, want an allowed_senders[1] error", tc.pattern, err)
		}
	}
}
