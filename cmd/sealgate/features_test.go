package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	msgdkim "github.com/emersion/go-msgauth/dkim"
)

const phiMessage = "From: lab@clinic.example.org\r\nTo: dr@example.net\r\nSubject: [secure] Results\r\n\r\n" +
	"Patient John Carter, DOB 03/14/1962, SSN 372-58-1946, was diagnosed with type 2 diabetes (E11.9); " +
	"metformin 500 mg started.\r\n"

func TestCheckPrintsVerdictWithoutValues(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	code := run([]string{"check"}, strings.NewReader(phiMessage), &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var v struct {
		PHI     bool   `json:"phi"`
		Action  string `json:"action"`
		Reasons []struct {
			Detector string `json:"detector"`
			Count    int    `json:"count"`
		} `json:"reasons"`
		Bytes int64 `json:"bytes_scanned"`
	}
	if err := json.Unmarshal(out.Bytes(), &v); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, out.String())
	}
	if !v.PHI || v.Action != "encrypt" || len(v.Reasons) == 0 || v.Bytes == 0 {
		t.Errorf("verdict %+v", v)
	}
	for _, secret := range []string{"372-58-1946", "Carter", "03/14/1962", "E11.9"} {
		if strings.Contains(out.String(), secret) {
			t.Errorf("verdict prints the matched value %q", secret)
		}
	}
	f := filepath.Join(t.TempDir(), "m.eml")
	os.WriteFile(f, []byte("From: a@b.example\r\nSubject: hi\r\n\r\nSee you at the picnic.\r\n"), 0o600)
	out.Reset()
	if code := run([]string{"check", f}, strings.NewReader(""), &out, &errb); code != 0 || !strings.Contains(out.String(), `"phi":false`) {
		t.Errorf("clean message from a file: %d %s", code, out.String())
	}
}

func TestDKIMKeygenAndSignedDelivery(t *testing.T) {
	t.Parallel()
	keyDir := t.TempDir()
	var out, errb bytes.Buffer
	code := run([]string{"dkim", "keygen", "--domain", "news.example.org", "--selector", "s1", "--algo", "ed25519", "--dir", keyDir},
		strings.NewReader(""), &out, &errb)
	if code != 0 {
		t.Fatalf("keygen exit %d: %s", code, errb.String())
	}
	txt := out.String()
	if !strings.HasPrefix(txt, "s1._domainkey.news.example.org") {
		t.Fatalf("TXT record: %q", txt)
	}
	record := strings.Join(quoted(txt), "")
	keyPath := filepath.Join(keyDir, "news.example.org.s1.pem")
	e := newEnv(t, envOpts{extra: "dkim:\n  - {domain: news.example.org, selector: s1, key: " + keyPath + "}\n"})
	if err := submit(t, e.smtpAt, e.ca, "news@news.example.org", []string{"pat@example.net"},
		newsMessage("dk1@news.example.org", "pat@example.net", "Open on Saturday.")); err != nil {
		t.Fatal(err)
	}
	msgs, err := e.sink.Wait(1, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	verifs, err := msgdkim.VerifyWithOptions(bytes.NewReader(msgs[0].Data), &msgdkim.VerifyOptions{
		LookupTXT: func(name string) ([]string, error) {
			if name != "s1._domainkey.news.example.org" {
				t.Errorf("lookup of %q", name)
			}
			return []string{record}, nil
		}})
	if err != nil || len(verifs) != 1 || verifs[0].Err != nil || verifs[0].Domain != "news.example.org" {
		t.Fatalf("DKIM verification: %v %+v", err, verifs)
	}
}

// quoted returns the "…" strings of a TXT record line.
func quoted(s string) []string {
	var out []string
	for {
		i := strings.IndexByte(s, '"')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(s[i+1:], '"')
		if j < 0 {
			return out
		}
		out = append(out, s[i+1:i+1+j])
		s = s[i+2+j:]
	}
}

func TestSubjectTagRemovedAndPHIHeldToVerifiedTLS(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	e.gw.cfg.Clients[0].AllowedSenders = append(e.gw.cfg.Clients[0].AllowedSenders, "*@clinic.example.org")
	msg := strings.Replace(phiMessage, "From: lab@clinic.example.org", "From: news@news.example.org", 1)
	if err := submit(t, e.smtpAt, e.ca, "news@news.example.org", []string{"dr@example.net"}, msg); err != nil {
		t.Fatal(err)
	}
	msgs, err := e.sink.Wait(1, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !msgs[0].TLS {
		t.Fatal("PHI message left without TLS")
	}
	if bytes.Contains(msgs[0].Data, []byte("[secure]")) || !bytes.Contains(msgs[0].Data, []byte("Subject: Results")) {
		t.Errorf("subject tag not removed:\n%s", msgs[0].Data[:300])
	}
}
