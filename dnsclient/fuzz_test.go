package dnsclient

import (
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/sealgate/sealgate/dane"
)

// FuzzTLSAAnswer feeds arbitrary DNS replies (wire format) to the code
// that turns a reply into TLSA records and on to DANE: nothing panics,
// only TLSA records of class IN for the name asked (or a CNAME target
// leading on from it) are returned, and DANE's usable records are well
// formed.
func FuzzTLSAAnswer(f *testing.F) {
	const name = "_25._tcp.mx.example.test."
	for _, rrs := range [][]string{
		{name + " 300 IN TLSA 3 1 1 0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"},
		{name + " 300 IN CNAME tlsa.example.net.", "tlsa.example.net. 300 IN TLSA 2 0 2 " + strings.Repeat("ab", 64)},
		{"other.test. 300 IN TLSA 3 1 1 " + strings.Repeat("00", 32), name + " 300 IN TLSA 1 1 1 00"},
	} {
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeTLSA)
		m.Response, m.AuthenticatedData = true, true
		for _, s := range rrs {
			rr, err := dns.NewRR(s)
			if err != nil {
				f.Fatal(err)
			}
			m.Answer = append(m.Answer, rr)
		}
		wire, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(wire)
	}
	r := &Resolver{trustAD: true}
	f.Fuzz(func(t *testing.T, wire []byte) {
		in := new(dns.Msg)
		if in.Unpack(wire) != nil {
			return
		}
		ans, _ := r.answer(in, name, dns.TypeTLSA)
		if ans == nil {
			return
		}
		owners := chain(in.Answer, name)
		for _, rr := range tlsaRecords(ans) {
			if !owners[strings.ToLower(rr.Hdr.Name)] || rr.Hdr.Class != dns.ClassINET {
				t.Fatalf("record for %q class %d returned for %s", rr.Hdr.Name, rr.Hdr.Class, name)
			}
		}
		for _, u := range dane.Usable(tlsaRecords(ans)) {
			if u.Usage != dane.UsageDANEEE && u.Usage != dane.UsageDANETA {
				t.Fatalf("unusable record %v passed", u)
			}
		}
		if len(owners) > maxCNAMEs+1 {
			t.Fatalf("followed %d names", len(owners))
		}
	})
}
