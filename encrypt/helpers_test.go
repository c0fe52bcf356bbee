package encrypt

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/smallstep/pkcs7"

	"github.com/sealgate/sealgate/encrypt/pgp"
	"github.com/sealgate/sealgate/encrypt/smime"
	"github.com/sealgate/sealgate/internal/testenv"
	"github.com/sealgate/sealgate/mail"
	"github.com/sealgate/sealgate/portal/box/boxtest"
)

func TestMain(m *testing.M) {
	smime.Init()
	os.Exit(m.Run())
}

var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

// phiMessage is a message whose subject, body and attachment are PHI.
const phiMessage = "From: Lab <lab@clinic.example.org>\r\nTo: pat@example.net\r\n" +
	"Subject: Your biopsy results\r\nMessage-ID: <m1@clinic.example.org>\r\nDate: Fri, 27 Nov 2026 10:00:00 +0000\r\n" +
	"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n" +
	"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe biopsy shows carcinoma in situ.\r\n" +
	"--b1\r\nContent-Type: text/csv; name=\"labs.csv\"\r\nContent-Disposition: attachment; filename=\"labs.csv\"\r\n\r\n" +
	"test,value\r\nPSA,7.9\r\n--b1--\r\n"

// phiWords must never appear outside an encrypted part.
var phiWords = []string{"biopsy", "carcinoma", "PSA,7.9", "labs.csv"}

// sent is one delivery the fake next hop received.
type sent struct {
	Rcpts []string
	Body  []byte
	TLS   mail.TLSLevel
}

// fakeNext records deliveries and answers with reply (nil: accepted).
type fakeNext struct {
	mu    sync.Mutex
	got   []sent
	reply func(d *mail.Delivery, rcpt string) mail.Outcome
}

func (f *fakeNext) Deliver(_ context.Context, d *mail.Delivery) []mail.Outcome {
	s := sent{Body: append([]byte(nil), d.Body...), TLS: d.TLS}
	var out []mail.Outcome
	for _, r := range d.Rcpts {
		s.Rcpts = append(s.Rcpts, r.Addr)
		o := mail.Outcome{Rcpt: r.Addr}
		if f.reply != nil {
			o = f.reply(d, r.Addr)
			o.Rcpt = r.Addr
		}
		out = append(out, o)
	}
	f.mu.Lock()
	f.got = append(f.got, s)
	f.mu.Unlock()
	return out
}

// fakeSpool stands for the queue's Submit: it keeps the portal
// notifications it is given, or refuses them all with err.
type fakeSpool struct {
	mu  sync.Mutex
	got []mail.Generated
	err error
}

func (s *fakeSpool) Submit(_ context.Context, g mail.Generated) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return "", s.err
	}
	s.got = append(s.got, g)
	return fmt.Sprintf("N%d", len(s.got)), nil
}

func (s *fakeSpool) notices() []mail.Generated {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]mail.Generated(nil), s.got...)
}

func (f *fakeNext) sent() []sent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sent(nil), f.got...)
}

// tlsErr is a delivery error that says authenticated TLS could not be had.
type tlsErr struct{}

func (tlsErr) Error() string { return "delivery: temporary failure at tls" }

// Is makes it match mail.ErrTLSUnavailable, as delivery.Error does.
func (tlsErr) Is(target error) bool { return target == mail.ErrTLSUnavailable }

// noVerifyAt refuses authenticated TLS for the given recipients.
func noVerifyAt(rcpts ...string) func(*mail.Delivery, string) mail.Outcome {
	return func(d *mail.Delivery, rcpt string) mail.Outcome {
		for _, r := range rcpts {
			if r == rcpt && d.TLS >= mail.TLSVerify {
				return mail.Outcome{Err: tlsErr{}}
			}
		}
		return mail.Outcome{TLSVersion: "TLS1.3"}
	}
}

// newPGPKey makes an Ed25519/Curve25519 key for email.
func newPGPKey(t testing.TB, email string, lifetime uint32) *openpgp.Entity {
	t.Helper()
	cfg := &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Curve: packet.Curve25519,
		KeyLifetimeSecs: lifetime, Time: func() time.Time { return t0.Add(-48 * time.Hour) }}
	e, err := openpgp.NewEntity("Test", "", email, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func armoredPublic(t testing.TB, e *openpgp.Entity) []byte {
	t.Helper()
	var b bytes.Buffer
	w, _ := armor.Encode(&b, openpgp.PublicKeyType, nil)
	if err := e.Serialize(w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return b.Bytes()
}

var (
	rsaOnce sync.Once
	rsaKey  *rsa.PrivateKey
)

// testRSAKey is one 2048-bit key per test binary (they are slow to make).
func testRSAKey(t testing.TB) *rsa.PrivateKey {
	rsaOnce.Do(func() { rsaKey, _ = rsa.GenerateKey(rand.Reader, 2048) })
	if rsaKey == nil {
		t.Fatal("RSA key generation failed")
	}
	return rsaKey
}

// newCert makes a self-signed S/MIME certificate for email.
func newCert(t testing.TB, email string, notAfter time.Time, eku x509.ExtKeyUsage) *x509.Certificate {
	t.Helper()
	key := testRSAKey(t)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "Test"},
		NotBefore: t0.Add(-time.Hour), NotAfter: notAfter, EmailAddresses: []string{email},
		KeyUsage: x509.KeyUsageKeyEncipherment | x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{eku}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

func certPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func writeFile(t testing.TB, dir, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// fixture is a Courier with a keyring, a cert store and a portal store.
type fixture struct {
	c       *Courier
	next    *fakeNext
	spool   *fakeSpool
	reg     *prometheus.Registry
	store   *boxtest.Box
	pgpKey  *openpgp.Entity
	cert    *x509.Certificate
	logs    *testenv.Buffer
	keyDir  string
	certDir string
}

// newFixture has a PGP key for pgp@example.net and a certificate for
// smime@example.net; extra files go in the key folders before loading.
func newFixture(t testing.TB, order []string, extraKeys, extraCerts map[string][]byte) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{next: &fakeNext{}, spool: &fakeSpool{}, reg: prometheus.NewRegistry(), logs: &testenv.Buffer{},
		keyDir: filepath.Join(dir, "pgp"), certDir: filepath.Join(dir, "smime")}
	os.Mkdir(f.keyDir, 0o700)
	os.Mkdir(f.certDir, 0o700)
	f.pgpKey = newPGPKey(t, "pgp@example.net", 0)
	writeFile(t, f.keyDir, "pgp.asc", armoredPublic(t, f.pgpKey))
	f.cert = newCert(t, "smime@example.net", t0.Add(24*time.Hour), x509.ExtKeyUsageEmailProtection)
	writeFile(t, f.certDir, "smime.pem", certPEM(f.cert))
	for n, b := range extraKeys {
		writeFile(t, f.keyDir, n, b)
	}
	for n, b := range extraCerts {
		writeFile(t, f.certDir, n, b)
	}
	log := slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	kr, err := pgp.LoadKeyring(f.keyDir, t0, log)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := smime.LoadCertStore(f.certDir, t0, log)
	if err != nil {
		t.Fatal(err)
	}
	f.store = boxtest.Open(t, func() time.Time { return t0 })
	f.c, err = New(Config{Order: order, Keyring: kr, Certs: cs, Portal: f.store, Subject: "Encrypted message",
		Notice:  Notice{BaseURL: "https://portal.example.org/", Organization: "Example Clinic", Hostname: "gw.example.org"},
		Notices: f.spool, Next: f.next, Logger: log, Registerer: f.reg, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) count(method string) float64 {
	return testutil.ToFloat64(f.c.m.encrypted.WithLabelValues(method))
}

func delivery(rcpts ...string) *mail.Delivery {
	d := &mail.Delivery{QueueID: "Q1", From: "lab@clinic.example.org", Domain: "example.net",
		Body: []byte(phiMessage), TLS: mail.TLSVerify,
		Policy: mail.PolicySummary{PHI: true, Action: "encrypt"}}
	for _, r := range rcpts {
		d.Rcpts = append(d.Rcpts, mail.Rcpt{Addr: r})
	}
	return d
}

// pgpPlain decrypts a PGP/MIME message with key.
func pgpPlain(t testing.TB, msg []byte, key *openpgp.Entity) []byte {
	t.Helper()
	i := bytes.Index(msg, []byte("-----BEGIN PGP MESSAGE-----"))
	if i < 0 {
		t.Fatal("no armored PGP message")
	}
	blk, err := armor.Decode(bytes.NewReader(msg[i:]))
	if err != nil {
		t.Fatal(err)
	}
	md, err := openpgp.ReadMessage(blk.Body, openpgp.EntityList{key}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(md.UnverifiedBody)
	if err != nil {
		t.Fatal(err)
	}
	return plain
}

// smimePlain decrypts an S/MIME enveloped-data message with the test key.
func smimePlain(t testing.TB, msg []byte, cert *x509.Certificate) []byte {
	t.Helper()
	_, body, ok := bytes.Cut(msg, []byte("\r\n\r\n"))
	if !ok {
		t.Fatal("no body")
	}
	der, err := base64.StdEncoding.DecodeString(string(bytes.ReplaceAll(body, []byte("\r\n"), nil)))
	if err != nil {
		t.Fatal(err)
	}
	p7, err := pkcs7.Parse(der)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := p7.Decrypt(cert, testRSAKey(t))
	if err != nil {
		t.Fatal(err)
	}
	return plain
}
