package dane_test

import (
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/sealgate/sealgate/dane"
	"github.com/sealgate/sealgate/internal/smtpsink"
)

// FuzzVerify gives Verify arbitrary TLSA records (any usage, selector,
// matching type and data, as a hostile zone may publish them) and a chain
// where the server may have put any bytes it liked: nothing panics, and a
// chain is accepted only when a usable record really matches it.
func FuzzVerify(f *testing.F) {
	ca := smtpsink.NewTestCA(f)
	blk, _ := pem.Decode(ca.CertPEM())
	caCert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		f.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(ca.Leaf(f, "mx.partner.test").Certificate[0])
	if err != nil {
		f.Fatal(err)
	}
	f.Add(uint8(3), uint8(1), uint8(1), dane.Record(leaf, 1, 1), []byte(nil), "mx.partner.test.")
	f.Add(uint8(2), uint8(0), uint8(2), dane.Record(caCert, 0, 2), []byte(nil), "mx.partner.test")
	f.Add(uint8(3), uint8(0), uint8(0), strings.ToUpper(dane.Record(leaf, 0, 0)), []byte{0x30, 0x03, 0x02, 0x01, 0x00}, "")
	f.Add(uint8(2), uint8(1), uint8(1), "zz", blk.Bytes, "*.partner.test")
	f.Fuzz(func(t *testing.T, usage, sel, mt uint8, data string, extraDER []byte, name string) {
		rec := &dns.TLSA{Usage: usage, Selector: sel, MatchingType: mt, Certificate: data}
		chain := []*x509.Certificate{leaf, caCert}
		if c, err := x509.ParseCertificate(extraDER); err == nil {
			chain = append(chain, c)
		}
		err := dane.Verify(dane.VerifyRequest{Records: []*dns.TLSA{rec}, Chain: chain, Names: []string{name}})
		if err != nil {
			return
		}
		if len(dane.Usable([]*dns.TLSA{rec})) != 1 {
			t.Fatalf("accepted through an unusable record %v", rec)
		}
		if _, herr := hex.DecodeString(data); herr != nil {
			t.Fatalf("accepted a record whose data is not hex: %q", data)
		}
		if usage == dane.UsageDANEEE && !strings.EqualFold(dane.Record(leaf, sel, mt), data) {
			t.Fatalf("DANE-EE accepted a record that does not match the leaf: %v", rec)
		}
	})
}
