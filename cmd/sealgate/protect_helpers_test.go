package main

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/emersion/go-smtp"

	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/internal/testenv"
)

// protEnv is a gateway (env) with encryption configured and three
// destinations: example.net, whose sink (env.sink, good) has a
// certificate that verifies, bad.example, whose sink's certificate does
// not, and plain.example, which offers no STARTTLS.
type protEnv struct {
	*env
	good   *smtpsink.Sink
	bad    *smtpsink.Sink
	plain  *smtpsink.Sink // offers no STARTTLS at all
	logs   *testenv.Buffer
	pgpKey *openpgp.Entity
	cert   *x509.Certificate
	key    *rsa.PrivateKey
	extra  string // YAML appended to the config
	portal string // more keys of the portal section, indented lines
}

// newProtEnv starts the sinks and a gateway whose keyring holds a key for
// pgp@example.net and whose certificate folder holds one for
// smime@example.net; extra files go into those folders first.
func newProtEnv(t *testing.T, extraKeys, extraCerts map[string][]byte) *protEnv {
	t.Helper()
	return newProtEnvYAML(t, extraKeys, extraCerts, nil)
}

// newProtEnvYAML is newProtEnv with YAML that extra, given the env's
// folder and CA, returns appended to the config.
func newProtEnvYAML(t *testing.T, extraKeys, extraCerts map[string][]byte, extra func(dir string, ca *smtpsink.TestCA) string) *protEnv {
	t.Helper()
	return startProtEnv(t, protOptions{keys: extraKeys, certs: extraCerts, yaml: extra})
}

// protOptions vary a protEnv: extra key and certificate files, extra YAML,
// and the good and bad sinks' answers to RCPT (nil: they take every
// recipient).
type protOptions struct {
	keys, certs       map[string][]byte
	yaml              func(dir string, ca *smtpsink.TestCA) string
	portal            string // more keys of the portal section, indented lines
	goodRcpt, badRcpt func(rcpt string) *smtp.SMTPError
}

func startProtEnv(t *testing.T, o protOptions) *protEnv {
	t.Helper()
	extraKeys, extraCerts := o.keys, o.certs
	e := &protEnv{env: newGatewayEnv(t), logs: &testenv.Buffer{}, portal: o.portal}
	if o.yaml != nil {
		e.extra = o.yaml(e.dir, e.ca)
	}
	e.good = smtpsink.Start(t, smtpsink.Options{TLS: smtpsink.ServerTLS(e.ca.Leaf(t, "localhost", "127.0.0.1")), RcptReply: o.goodRcpt})
	e.sink = e.good
	e.bad = smtpsink.Start(t, smtpsink.Options{TLS: smtpsink.ServerTLS(smtpsink.SelfSigned(t, "localhost", "127.0.0.1")), RcptReply: o.badRcpt})
	e.plain = smtpsink.Start(t, smtpsink.Options{})
	e.writeKeys(t, extraKeys, extraCerts)
	e.writeProtConfig()
	e.start(e.logs, nil)
	return e
}

func (e *protEnv) writeKeys(t *testing.T, extraKeys, extraCerts map[string][]byte) {
	t.Helper()
	pgpDir, certDir := filepath.Join(e.dir, "pgp"), filepath.Join(e.dir, "smime")
	os.Mkdir(pgpDir, 0o700)
	os.Mkdir(certDir, 0o700)
	e.pgpKey = protPGPKey(t, "pgp@example.net", 0)
	protWrite(t, pgpDir, "pgp.asc", protArmor(t, e.pgpKey, false))
	e.key = protRSAKey(t)
	e.cert = protCert(t, "smime@example.net", time.Now().Add(24*time.Hour))
	protWrite(t, certDir, "smime.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: e.cert.Raw}))
	for n, b := range extraKeys {
		protWrite(t, pgpDir, n, b)
	}
	for n, b := range extraCerts {
		protWrite(t, certDir, n, b)
	}
}

// writeConfig routes example.net to the good sink, bad.example to the
// bad one and plain.example to the plaintext one; the default TLS policy is "may", so only protection raises it.
// The good sink is a trusted hop (the final hop of a partner whose name
// the configuration pins), so the tls method may send PHI there.
func (e *protEnv) writeProtConfig() {
	e.t.Helper()
	e.writeTLSFiles()
	yaml := gatewayHead(e.dir) + fmt.Sprintf(`clients:
  - {name: ehr, username: marketing, password_hash: "%[2]s", allowed_senders: ["*@clinic.example.org"]}
delivery:
  routes: {"example.net": "%[3]s", "bad.example": "%[4]s", "plain.example": "%[5]s", "clinic.example.org": "%[3]s"}
  tls: {ca_file: %[1]s/ca.pem, policy: {default: may}, trusted_hops: ["%[3]s"]}
  retry: {schedule: [200ms], max_age: 1h}
encryption:
  order: [pgp, smime, tls, portal]
  pgp: {keyring: %[1]s/pgp}
  smime: {certs: %[1]s/smime}
  subject: "Encrypted message"
  portal_subject: "You have a secure message"
portal:
  base_url: "https://portal.example.org"
  listen: "127.0.0.1:0"
  branding: {organization: "Example Clinic"}
`, e.dir, e2eHash, e.good.Addr, e.bad.Addr, e.plain.Addr) + e.portal + e.extra
	e.writeYAML(yaml)
}

// send submits the PHI message to rcpts.
func (e *protEnv) send(t *testing.T, rcpts ...string) {
	t.Helper()
	msg := strings.Replace(protMessage, "To: pat@example.net", "To: "+strings.Join(rcpts, ", "), 1)
	if err := submit(t, e.smtpAt, e.ca, "lab@clinic.example.org", rcpts, msg); err != nil {
		t.Fatal(err)
	}
}

// protMessage is a message whose subject, body and attachment are PHI.
const protMessage = "From: Lab <lab@clinic.example.org>\r\nTo: pat@example.net\r\n" +
	"Subject: [secure] Your biopsy results\r\nMessage-ID: <p1@clinic.example.org>\r\nDate: Fri, 27 Nov 2026 10:00:00 +0000\r\n" +
	"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n" +
	"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + protBody + "\r\n" +
	"--b1\r\nContent-Type: text/csv; name=\"labs.csv\"\r\nContent-Disposition: attachment; filename=\"labs.csv\"\r\n" +
	"Content-Transfer-Encoding: base64\r\n\r\n" + protAttachmentB64 + "\r\n--b1--\r\n"

const (
	protBody          = "The biopsy shows carcinoma in situ. Please call to discuss treatment."
	protAttachment    = "test,value\nPSA,7.9\n"
	protAttachmentB64 = "dGVzdCx2YWx1ZQpQU0EsNy45Cg=="
)

// protPHI must never be readable outside an encryption.
var protPHI = []string{"biopsy", "carcinoma", "labs.csv", protAttachmentB64}

func protPGPKey(t *testing.T, email string, lifetime uint32) *openpgp.Entity {
	t.Helper()
	cfg := &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Curve: packet.Curve25519, KeyLifetimeSecs: lifetime,
		Time: func() time.Time { return time.Now().Add(-48 * time.Hour) }}
	ent, err := openpgp.NewEntity("Test", "", email, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return ent
}

// protArmor returns e's public (or secret) key, armored.
func protArmor(t *testing.T, e *openpgp.Entity, secret bool) []byte {
	t.Helper()
	var b bytes.Buffer
	typ := openpgp.PublicKeyType
	if secret {
		typ = openpgp.PrivateKeyType
	}
	w, _ := armor.Encode(&b, typ, nil)
	var err error
	if secret {
		err = e.SerializePrivateWithoutSigning(w, nil)
	} else {
		err = e.Serialize(w)
	}
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	return b.Bytes()
}

var (
	protRSAOnce sync.Once
	protRSA     *rsa.PrivateKey
)

func protRSAKey(t *testing.T) *rsa.PrivateKey {
	protRSAOnce.Do(func() { protRSA, _ = rsa.GenerateKey(rand.Reader, 2048) })
	if protRSA == nil {
		t.Fatal("RSA key generation failed")
	}
	return protRSA
}

// protCert is a self-signed S/MIME certificate for email (the certificate
// folder is the operator's trust decision; chains are not checked).
func protCert(t *testing.T, email string, notAfter time.Time) *x509.Certificate {
	t.Helper()
	key := protRSAKey(t)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: email},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: notAfter, EmailAddresses: []string{email},
		KeyUsage:    x509.KeyUsageKeyEncipherment | x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

func protWrite(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// forRcpt returns the sink messages addressed to rcpt.
func forRcpt(msgs []smtpsink.Message, rcpt string) []smtpsink.Message {
	var out []smtpsink.Message
	for _, m := range msgs {
		for _, r := range m.Rcpts {
			if r == rcpt {
				out = append(out, m)
			}
		}
	}
	return out
}

// checkNoPHI fails if b shows any PHI word in the clear.
func checkNoPHI(t *testing.T, what string, b []byte) {
	t.Helper()
	for _, w := range protPHI {
		if bytes.Contains(bytes.ToLower(b), bytes.ToLower([]byte(w))) {
			t.Errorf("%s carries %q in the clear", what, w)
		}
	}
}

func pemOf(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func pemCert(e *protEnv) []byte { return pemOf(e.cert) }

func pemKey(t *testing.T, e *protEnv) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(e.key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// protCertExpiry is a day from now.
func protCertExpiry() time.Time { return time.Now().Add(24 * time.Hour) }
