package dkim

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-message"
	msgdkim "github.com/emersion/go-msgauth/dkim"
	"github.com/sealgate/sealgate/internal/testenv"
)

const testMsg = "From: Clinic <billing@example-clinic.org>\r\n" +
	"To: patient@example.net\r\n" +
	"Cc: nurse@example-clinic.org\r\n" +
	"Subject: Your statement\r\n" +
	"Date: Mon, 2 Nov 2026 10:00:00 +0000\r\n" +
	"Message-ID: <s1@example-clinic.org>\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"X-Mailer: billing 1.0\r\n" +
	"\r\n" +
	"Your statement is ready.  \r\n" +
	"\r\n\r\n"

// fixture is a Signer for example-clinic.org (RSA, s2026) and
// ed.example (Ed25519, e1) with a resolver that publishes both records.
type fixture struct {
	signer  *Signer
	records map[string]string
}

var (
	fixOnce sync.Once
	fix     fixture
	fixErr  error
	fixDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fixDir != "" {
		os.RemoveAll(fixDir)
	}
	os.Exit(code)
}

func getFixture(t testing.TB) fixture {
	t.Helper()
	fixOnce.Do(func() {
		dir, err := os.MkdirTemp("", "dkim")
		if err != nil {
			fixErr = err
			return
		}
		fixDir = dir
		fix.records = map[string]string{}
		var cfgs []KeyConfig
		for _, k := range []struct{ domain, sel, algo string }{{"example-clinic.org", "s2026", "rsa"}, {"ed.example", "e1", "ed25519"}} {
			path, rec, err := Keygen(k.domain, k.sel, k.algo, dir)
			if err != nil {
				fixErr = err
				return
			}
			fix.records[k.sel+"._domainkey."+k.domain] = recordValue(rec)
			cfgs = append(cfgs, KeyConfig{Domain: k.domain, Selector: k.sel, KeyPath: path})
		}
		fix.signer, fixErr = NewSigner(cfgs)
	})
	if fixErr != nil {
		t.Fatal(fixErr)
	}
	return fix
}

// recordValue joins the quoted strings of a zone-file TXT record.
func recordValue(rec string) string {
	_, quoted, _ := strings.Cut(rec, " IN TXT ")
	return strings.ReplaceAll(strings.Trim(quoted, `"`), `" "`, "")
}

// verify checks msg's DKIM signatures against the fixture's records and
// returns the verifications.
func (f fixture) verify(t *testing.T, msg []byte) []*msgdkim.Verification {
	t.Helper()
	vs, err := msgdkim.VerifyWithOptions(bytes.NewReader(msg), &msgdkim.VerifyOptions{
		LookupTXT: func(name string) ([]string, error) {
			if r, ok := f.records[name]; ok {
				return []string{r}, nil
			}
			return nil, errors.New("no such record")
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

func TestSignVerifies(t *testing.T) {
	f := getFixture(t)
	for _, tc := range []struct{ name, from, domain string }{
		{"rsa", "billing@example-clinic.org", "example-clinic.org"},
		{"parent domain", "news@mail.Example-Clinic.org", "example-clinic.org"},
		{"ed25519", "a@ed.example", "ed.example"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := strings.Replace(testMsg, "billing@example-clinic.org", tc.from, 1)
			signed, err := f.signer.Sign([]byte(msg))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasSuffix(signed, []byte(msg)) {
				t.Error("Sign changed the message instead of prepending a field")
			}
			vs := f.verify(t, signed)
			if len(vs) != 1 || vs[0].Err != nil || vs[0].Domain != tc.domain {
				t.Fatalf("verification: %+v", vs[0])
			}
			if got := strings.ToLower(strings.Join(vs[0].HeaderKeys, ":")); got != "from:to:cc:subject:date:message-id:mime-version:content-type:from" {
				t.Errorf("h= %s", got)
			}
		})
	}
}

func TestDomains(t *testing.T) {
	if got := strings.Join(getFixture(t).signer.Domains(), ","); got != "ed.example,example-clinic.org" {
		t.Errorf("Domains = %s", got)
	}
}

func TestSignSurvivesReserialisation(t *testing.T) {
	f := getFixture(t)
	signed, err := f.signer.Sign([]byte(testMsg))
	if err != nil {
		t.Fatal(err)
	}
	e, err := message.Read(bytes.NewReader(signed))
	if err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	if err := e.WriteTo(&again); err != nil {
		t.Fatal(err)
	}
	if vs := f.verify(t, again.Bytes()); vs[0].Err != nil {
		t.Errorf("signature broken by re-serialisation: %v", vs[0].Err)
	}
}

func TestSignDetectsTampering(t *testing.T) {
	f := getFixture(t)
	signed, err := f.signer.Sign([]byte(testMsg))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"body":          bytes.Replace(signed, []byte("statement is ready"), []byte("statement is READY"), 1),
		"subject":       bytes.Replace(signed, []byte("Subject: Your statement"), []byte("Subject: Your Statement"), 1),
		"added From":    bytes.Replace(signed, []byte("To: patient"), []byte("From: evil@attacker.example\r\nTo: patient"), 1),
		"appended body": append(append([]byte(nil), signed...), "P.S. click here\r\n"...),
	}
	for name, msg := range cases {
		if vs := f.verify(t, msg); vs[0].Err == nil {
			t.Errorf("%s: tampered message verified", name)
		}
	}
	// Relaxed canonicalization tolerates whitespace changes in transit.
	relaxed := bytes.Replace(signed, []byte("ready.  \r\n"), []byte("ready.\r\n"), 1)
	if vs := f.verify(t, relaxed); vs[0].Err != nil {
		t.Errorf("relaxed body canonicalization: %v", vs[0].Err)
	}
}

func TestSignWithoutKeyReturnsMessage(t *testing.T) {
	f := getFixture(t)
	msg := []byte(strings.Replace(testMsg, "example-clinic.org>", "other.example>", 1))
	out, err := f.signer.Sign(msg)
	if err != nil || !bytes.Equal(out, msg) {
		t.Errorf("Sign for an unknown domain: err %v, changed %v", err, !bytes.Equal(out, msg))
	}
	// "example-clinic.org.evil.example" must not use the clinic's key.
	msg = []byte(strings.Replace(testMsg, "example-clinic.org>", "example-clinic.org.evil.example>", 1))
	if out, _ := f.signer.Sign(msg); !bytes.Equal(out, msg) {
		t.Error("signed a look-alike domain")
	}
}

func TestSignNormalisesLineEndings(t *testing.T) {
	f := getFixture(t)
	lf := strings.ReplaceAll(testMsg, "\r\n", "\n")
	signed, err := f.signer.Sign([]byte(lf))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(bytes.ReplaceAll(signed, []byte("\r\n"), nil), []byte("\n")) {
		t.Error("bare LF left in the signed message")
	}
	if vs := f.verify(t, signed); vs[0].Err != nil {
		t.Errorf("verification: %v", vs[0].Err)
	}
}

func TestSignRejectsBadFrom(t *testing.T) {
	f := getFixture(t)
	for name, msg := range map[string]string{
		"no From":    "To: a@example.net\r\n\r\nbody\r\n",
		"two From":   "From: a@example-clinic.org\r\nFrom: b@example-clinic.org\r\n\r\nbody\r\n",
		"bad From":   "From: Secret Diagnosis <<<\r\n\r\nbody\r\n",
		"bad header": "From: a@example-clinic.org\r\nSecret Diagnosis\r\n\r\nbody\r\n",
	} {
		_, err := f.signer.Sign([]byte(msg))
		if err == nil {
			t.Errorf("%s: no error", name)
		} else if strings.Contains(err.Error(), "Diagnosis") {
			t.Errorf("%s: error leaks content: %v", name, err)
		}
	}
}

func TestKeygen(t *testing.T) {
	dir := t.TempDir()
	path, rec, err := Keygen("Example.ORG", "s1", "ed25519", dir)
	if err != nil {
		t.Fatal(err)
	}
	if path != filepath.Join(dir, "example.org.s1.pem") {
		t.Errorf("path %s", path)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode: %v %v", fi.Mode(), err)
	}
	if !strings.HasPrefix(rec, `s1._domainkey.example.org. IN TXT "v=DKIM1; k=ed25519; p=`) {
		t.Errorf("record %s", rec)
	}
	if _, _, err := Keygen("example.org", "s1", "ed25519", dir); err == nil {
		t.Error("Keygen overwrote an existing key")
	}
	for _, bad := range [][3]string{{"../etc", "s", "rsa"}, {"example.org", "a/b", "rsa"}, {"example.org", "s2", "dsa"}} {
		if _, _, err := Keygen(bad[0], bad[1], bad[2], dir); err == nil {
			t.Errorf("Keygen(%q) succeeded", bad)
		}
	}
}

func TestKeygenRSARecordIsSplit(t *testing.T) {
	_, rec, err := Keygen("example.org", "r1", "rsa", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	_, quoted, _ := strings.Cut(rec, " IN TXT ")
	for _, s := range strings.Split(quoted, `" "`) {
		if len(strings.Trim(s, `"`)) > 255 {
			t.Errorf("TXT string longer than 255: %d", len(s))
		}
	}
	if !strings.HasPrefix(recordValue(rec), "v=DKIM1; k=rsa; p=MIIB") {
		t.Errorf("record %s", rec)
	}
}

func TestLoadKey(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	k2048, _ := rsa.GenerateKey(rand.Reader, 2048)
	k1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	pkcs1 := write("pkcs1.pem", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k2048)}))
	weak := write("weak.pem", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k1024)}))
	garbage := write("garbage.pem", []byte("not a key"))
	cert := write("cert.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}}))
	if _, err := LoadKey(pkcs1); err != nil {
		t.Errorf("PKCS#1: %v", err)
	}
	for _, p := range []string{weak, garbage, cert, filepath.Join(dir, "missing.pem")} {
		if _, err := LoadKey(p); err == nil {
			t.Errorf("LoadKey(%s) succeeded", filepath.Base(p))
		}
	}
	if _, err := NewSigner([]KeyConfig{{Domain: "a.example", Selector: "s", KeyPath: pkcs1}, {Domain: "A.example.", Selector: "t", KeyPath: pkcs1}}); err == nil {
		t.Error("NewSigner accepted two keys for one domain")
	}
	if _, err := NewSigner([]KeyConfig{{Domain: "a.example", Selector: "s", KeyPath: weak}}); err == nil {
		t.Error("NewSigner accepted a weak key")
	}
}

func FuzzSign(f *testing.F) {
	f.Add([]byte(testMsg))
	f.Add([]byte("From: a@ed.example\nSubject: x\n\nbody"))
	f.Add([]byte("From: =?x-unknown?q?A?= <a@ed.example>\r\n\r\n"))
	f.Add([]byte("From: a@ed.example"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		fx := getFixture(t)
		signed, err := fx.signer.Sign(msg)
		if err != nil || !bytes.HasPrefix(signed, []byte("DKIM-Signature:")) {
			return
		}
		vs, err := msgdkim.VerifyWithOptions(bytes.NewReader(signed), &msgdkim.VerifyOptions{
			LookupTXT: func(name string) ([]string, error) { return []string{fx.records[name]}, nil },
		})
		if err != nil || len(vs) == 0 || vs[0].Err != nil {
			t.Fatalf("signed message does not verify: %v %+v", err, vs)
		}
	})
}

func TestSignConcurrently(t *testing.T) {
	f := getFixture(t)
	testenv.Concurrently(t, 8, func() error {
		_, err := f.signer.Sign([]byte(testMsg))
		return err
	})
}
