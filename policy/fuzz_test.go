package policy

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzCheck feeds arbitrary bytes to the whole reader: it must return a verdict with an
// action, quickly, and never panic. Seeds are in testdata/fuzz/FuzzCheck, testdata/seeds,
// testdata/failclosed and below.
func FuzzCheck(f *testing.F) {
	f.Add([]byte("From: a@b\r\nSubject: x\r\n\r\nhello"))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/html\r\n\r\n<p>Patient: A B DOB 1/2/1980 asthma</p>\r\n--x--\r\n"))
	f.Add([]byte("Content-Type: message/rfc822\r\n\r\nContent-Type: text/csv\r\n\r\nname,dob\r\nA B,1980-01-02\r\n"))
	seeds, _ := filepath.Glob("testdata/seeds/*.eml")
	failClosed, _ := filepath.Glob("testdata/failclosed/*.eml")
	if seeds := append(seeds, failClosed...); len(seeds) > 0 {
		for _, p := range seeds {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	eng, err := New(Config{Limits: Limits{MaxTime: 5 * time.Second}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		v, err := eng.Check(context.Background(), msg, Input{})
		if err != nil {
			t.Fatalf("Check: %v", err)
		}
		if level(v.Action) < 0 {
			t.Fatalf("invalid action %q", v.Action)
		}
		if v.PHI && level(v.Action) < level(ActionEncrypt) {
			t.Fatalf("PHI verdict with action %q", v.Action)
		}
	})
}
