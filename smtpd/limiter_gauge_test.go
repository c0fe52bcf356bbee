package smtpd

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestLimiterGaugesCountTrackedClients(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.Limits.MessagesPerMinute = 100 })
	c := h.submit(t)
	if err := send(c, "news@news.example.org", "x@example.net", message("news@news.example.org", "x@example.net", "hi")); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP sealgate_smtpd_limiter_keys Clients or addresses a rate limiter tracks.
# TYPE sealgate_smtpd_limiter_keys gauge
sealgate_smtpd_limiter_keys{limiter="auth_failures"} 0
sealgate_smtpd_limiter_keys{limiter="connection_rate"} 0
sealgate_smtpd_limiter_keys{limiter="send_rate"} 1
`
	if err := testutil.GatherAndCompare(h.reg, strings.NewReader(want), "sealgate_smtpd_limiter_keys"); err != nil {
		t.Fatal(err)
	}
}
