package dane_test

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"testing"

	"github.com/miekg/dns"
	"github.com/sealgate/sealgate/dane"
	"github.com/sealgate/sealgate/internal/smtpsink"
)

func parse(t *testing.T, der []byte) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func tlsa(usage, sel, mt uint8, data string) *dns.TLSA {
	return &dns.TLSA{Usage: usage, Selector: sel, MatchingType: mt, Certificate: data}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	ca := smtpsink.NewTestCA(t)
	blk, _ := pem.Decode(ca.CertPEM())
	caCert := parse(t, blk.Bytes)
	leaf := parse(t, ca.Leaf(t, "mx.partner.test").Certificate[0])
	expired := parse(t, ca.Expired(t, "mx.partner.test").Certificate[0])
	other := parse(t, smtpsink.SelfSigned(t, "mx.partner.test").Certificate[0])
	chain := []*x509.Certificate{leaf, caCert}
	names := []string{"mx.partner.test."}
	cases := []struct {
		name  string
		recs  []*dns.TLSA
		chain []*x509.Certificate
		names []string
		want  error
	}{
		{"EE SPKI SHA-256", []*dns.TLSA{tlsa(3, 1, 1, dane.Record(leaf, 1, 1))}, chain, nil, nil},
		{"EE cert SHA-512", []*dns.TLSA{tlsa(3, 0, 2, dane.Record(leaf, 0, 2))}, chain, nil, nil},
		{"EE full cert", []*dns.TLSA{tlsa(3, 0, 0, dane.Record(leaf, 0, 0))}, chain, nil, nil},
		{"EE ignores expiry", []*dns.TLSA{tlsa(3, 1, 1, dane.Record(expired, 1, 1))}, []*x509.Certificate{expired}, nil, nil},
		{"EE mismatch", []*dns.TLSA{tlsa(3, 1, 1, dane.Record(other, 1, 1))}, chain, nil, dane.ErrNoMatch},
		{"TA SPKI", []*dns.TLSA{tlsa(2, 1, 1, dane.Record(caCert, 1, 1))}, chain, names, nil},
		{"TA wrong name", []*dns.TLSA{tlsa(2, 1, 1, dane.Record(caCert, 1, 1))}, chain, []string{"other.test"}, dane.ErrNoMatch},
		{"TA not sent", []*dns.TLSA{tlsa(2, 0, 1, dane.Record(caCert, 0, 1))}, chain[:1], names, dane.ErrNoMatch},
		{"TA expired leaf", []*dns.TLSA{tlsa(2, 1, 1, dane.Record(caCert, 1, 1))}, []*x509.Certificate{expired, caCert}, names, dane.ErrNoMatch},
		{"TA must not match the leaf", []*dns.TLSA{tlsa(2, 1, 1, dane.Record(leaf, 1, 1))}, chain, names, dane.ErrNoMatch},
		{"PKIX-EE unusable", []*dns.TLSA{tlsa(1, 1, 1, dane.Record(leaf, 1, 1))}, chain, names, dane.ErrNoRecords},
		{"bad matching type", []*dns.TLSA{tlsa(3, 1, 9, dane.Record(leaf, 1, 1))}, chain, names, dane.ErrNoRecords},
		{"short digest", []*dns.TLSA{tlsa(3, 1, 2, dane.Record(leaf, 1, 1))}, chain, names, dane.ErrNoRecords},
		{"one usable among unusable", []*dns.TLSA{tlsa(0, 1, 1, "00"), tlsa(3, 1, 1, dane.Record(leaf, 1, 1))}, chain, names, nil},
		{"no chain", []*dns.TLSA{tlsa(3, 1, 1, dane.Record(leaf, 1, 1))}, nil, names, dane.ErrNoChain},
	}
	for _, tc := range cases {
		err := dane.Verify(dane.VerifyRequest{Records: tc.recs, Chain: tc.chain, Names: tc.names})
		if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestUsable(t *testing.T) {
	t.Parallel()
	h := "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"
	recs := []*dns.TLSA{tlsa(0, 1, 1, h), tlsa(1, 1, 1, h), tlsa(2, 1, 1, h), tlsa(3, 1, 1, h), tlsa(3, 2, 1, h), tlsa(3, 1, 1, "zz")}
	if got := dane.Usable(recs); len(got) != 2 || got[0].Usage != 2 || got[1].Usage != 3 {
		t.Errorf("usable: %v", got)
	}
}
