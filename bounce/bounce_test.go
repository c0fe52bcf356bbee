package bounce

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sealgate/sealgate/mail"
)

type tlsErr struct{}

func (tlsErr) Error() string        { return "no TLS" }
func (tlsErr) Is(target error) bool { return target == mail.ErrTLSUnavailable }

func TestClassify(t *testing.T) {
	fail := errors.New("refused")
	cases := []struct {
		code      int
		enhanced  string
		permanent bool
		err       error
		want      Class
	}{
		{250, "2.0.0", false, nil, None},
		{550, "5.1.1", true, fail, Hard},  // user unknown
		{550, "5.1.2", true, fail, Hard},  // no such domain
		{0, "5.1.10", true, fail, Hard},   // null MX
		{0, "5.4.4", true, fail, Hard},    // no MX, no address
		{550, "5.2.1", true, fail, Hard},  // mailbox disabled
		{552, "5.2.2", true, fail, Soft},  // mailbox full
		{452, "4.2.2", false, fail, Soft}, // mailbox full, temporary
		{421, "4.7.0", false, fail, Soft}, // throttled (Gmail)
		{451, "4.7.650", false, fail, Soft},
		{421, "4.7.28", false, fail, Soft},
		{550, "5.7.1", true, fail, Policy},  // spam / not authorised
		{550, "5.7.26", true, fail, Policy}, // DMARC
		{554, "5.6.0", true, fail, Policy},  // content
		{552, "5.3.4", true, fail, Policy},  // too big
		{530, "5.7.10", true, fail, TLS},
		{0, "4.7.5", false, tlsErr{}, TLS},
		{550, "5.5.2", true, fail, Other},
		{550, "", true, fail, Other}, // 550 alone: user unknown or spam, cannot tell
		{551, "", true, fail, Hard},
		{553, "", true, fail, Hard},
		{552, "", true, fail, Soft},
		{554, "", true, fail, Policy},
		{450, "", false, fail, Soft},
		{0, "", false, fail, Soft},        // connection trouble
		{550, "5.1.1", false, fail, Soft}, // not permanent: never hard
	}
	for _, c := range cases {
		o := mail.Outcome{Rcpt: "a@b.test", Code: c.code, Enhanced: c.enhanced, Permanent: c.permanent, Err: c.err}
		if got := Classify(o); got != c.want {
			t.Errorf("%d %s permanent=%v: %q, want %q", c.code, c.enhanced, c.permanent, got, c.want)
		}
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	m.Count(Hard)
	m.Count(Hard)
	m.Count(None)
	want := fmt.Sprintf(`
# HELP sealgate_delivery_failure_classes_total Failed delivery attempts per recipient, by class: hard, soft, policy, tls, other.
# TYPE sealgate_delivery_failure_classes_total counter
sealgate_delivery_failure_classes_total{class="hard"} %d
sealgate_delivery_failure_classes_total{class="other"} 0
sealgate_delivery_failure_classes_total{class="policy"} 0
sealgate_delivery_failure_classes_total{class="soft"} 0
sealgate_delivery_failure_classes_total{class="tls"} 0
`, 2)
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
}
