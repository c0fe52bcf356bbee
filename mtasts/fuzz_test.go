package mtasts

import (
	"testing"
	"time"
)

// FuzzParsePolicy: any body parses or fails without panicking, and a
// parsed policy is consistent.
func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmax_age: 604800\r\n"))
	f.Add([]byte("version: STSv1\nmode: none\nmax_age: 0\n"))
	f.Add([]byte("version:STSv1\nmode:testing\nmx:*.\nmax_age:9999999999\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := ParsePolicy(body)
		if err != nil {
			return
		}
		if p.MaxAge < 0 || p.MaxAge > maxMaxAge {
			t.Fatalf("max_age %v", p.MaxAge)
		}
		if p.Mode != ModeNone && len(p.MX) == 0 {
			t.Fatal("enforce/testing policy without mx")
		}
		for _, mx := range p.MX {
			_ = p.Match(mx)
		}
		_ = p.Expired(time.Now())
		_ = p.Strings()
	})
}

// FuzzParseRecord: an accepted record has a valid id.
func FuzzParseRecord(f *testing.F) {
	f.Add("v=STSv1; id=20160831085700Z;")
	f.Add("v=STSv1;id=;")
	f.Add("v=STSv1 ; id=a=b")
	f.Fuzz(func(t *testing.T, txt string) {
		id, err := ParseRecord(txt)
		if err == nil && !validID(id) {
			t.Fatalf("accepted id %q", id)
		}
	})
}
