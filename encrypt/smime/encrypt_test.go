package smime

import (
	"bytes"
	"crypto/x509"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-message"
	"github.com/sealgate/sealgate/encrypt/internal/testmsg"
	"github.com/sealgate/sealgate/internal/testenv"
	"github.com/smallstep/pkcs7"
)

// checkOuter checks the outer S/MIME header of out.
func checkOuter(t *testing.T, out []byte, subject string) {
	t.Helper()
	m, err := message.Read(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, _ := m.Header.ContentType()
	typ := params["smime-type"]
	if mt != "application/pkcs7-mime" || (typ != "enveloped-data" && typ != "authEnveloped-data") || params["name"] != "smime.p7m" {
		t.Errorf("outer Content-Type %q %v", mt, params)
	}
	if s, _ := m.Header.Text("Subject"); s != subject {
		t.Errorf("outer Subject = %q, want %q", s, subject)
	}
	if strings.Contains(string(out), "biopsy") {
		t.Error("real subject visible outside the envelope")
	}
}

// checkInner is testmsg.CheckInner on the decrypted entity, its line ends
// made CRLF first.
func checkInner(t *testing.T, plain, orig []byte) {
	t.Helper()
	plain = bytes.ReplaceAll(plain, []byte("\r\n"), []byte("\n"))
	plain = bytes.ReplaceAll(plain, []byte("\n"), []byte("\r\n"))
	testmsg.CheckInner(t, plain, orig)
}

func TestEncryptDecryptsWithOpenSSL(t *testing.T) {
	testenv.Tool(t, "openssl")
	dir := t.TempDir()
	rcpt := issue(t, certSpec{email: "patient@example.net", key: testKey(t, 1)})
	archive := issue(t, certSpec{email: "archive@example-clinic.org", key: testKey(t, 2)})
	orig := testmsg.Mixed()
	out, err := Encrypt(EncryptRequest{Message: orig, To: []*x509.Certificate{rcpt}, Archive: archive})
	if err != nil {
		t.Fatal(err)
	}
	checkOuter(t, out, "Secure message")
	msg := writeTemp(t, dir, "msg.eml", out)
	certFile := writeTemp(t, dir, "rcpt.pem", certPEM(rcpt))
	keyFile := writeTemp(t, dir, "rcpt.key", keyPEM(t, testKey(t, 1)))
	for _, tool := range []string{"cms", "smime"} {
		plain, err := openssl(t, tool, "-decrypt", "-in", msg, "-recip", certFile, "-inkey", keyFile)
		if err != nil {
			t.Fatalf("openssl %s -decrypt: %v", tool, err)
		}
		checkInner(t, plain, orig)
	}
	archCert := writeTemp(t, dir, "arch.pem", certPEM(archive))
	archKey := writeTemp(t, dir, "arch.key", keyPEM(t, testKey(t, 2)))
	plain, err := openssl(t, "cms", "-decrypt", "-in", msg, "-recip", archCert, "-inkey", archKey)
	if err != nil {
		t.Fatal("archive key cannot decrypt")
	}
	checkInner(t, plain, orig)
	printed, err := openssl(t, "cms", "-cmsout", "-print", "-in", msg)
	if algs := cmsAlgorithms(printed); err != nil || !slices.Contains(algs, "aes-256-cbc") || slices.ContainsFunc(algs, isDES) {
		t.Errorf("content encryption is not AES-256-CBC (algorithms %q):\n%s", algs, printed)
	}
}

// cmsAlgorithms returns the algorithm names of `openssl cms -print`
// output ("algorithm: aes-256-cbc (2.16.840.1.101.3.4.1.42)"), lower case.
// Only these lines are looked at: the hex dumps of the (random) encrypted
// key and content can spell "des" or "aes" in their text column.
func cmsAlgorithms(printed []byte) []string {
	var algs []string
	for _, line := range strings.Split(string(printed), "\n") {
		a, ok := strings.CutPrefix(strings.TrimSpace(line), "algorithm: ")
		if f := strings.Fields(a); ok && len(f) > 0 {
			algs = append(algs, strings.ToLower(f[0]))
		}
	}
	return algs
}

func isDES(alg string) bool { return strings.Contains(alg, "des") }

func TestEncryptSignedVerifiesWithOpenSSL(t *testing.T) {
	testenv.Tool(t, "openssl")
	dir := t.TempDir()
	rcpt := issue(t, certSpec{email: "patient@example.net", key: testKey(t, 1)})
	org := issue(t, certSpec{email: "security@example-clinic.org", key: testKey(t, 3)})
	signer := &Signer{Cert: org, Key: testKey(t, 3)}
	orig := testmsg.Mixed()
	out, err := Encrypt(EncryptRequest{Message: orig, To: []*x509.Certificate{rcpt}, Signer: signer, Subject: "Nachricht für Sie"})
	if err != nil {
		t.Fatal(err)
	}
	checkOuter(t, out, "Nachricht für Sie")
	msg := writeTemp(t, dir, "msg.eml", out)
	signed, err := openssl(t, "cms", "-decrypt", "-in", msg,
		"-recip", writeTemp(t, dir, "rcpt.pem", certPEM(rcpt)), "-inkey", writeTemp(t, dir, "rcpt.key", keyPEM(t, testKey(t, 1))))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(signed, []byte("multipart/signed")) {
		t.Fatalf("decrypted content is not multipart/signed: %.200q", signed)
	}
	signedFile := writeTemp(t, dir, "signed.eml", signed)
	plain, err := openssl(t, "cms", "-verify", "-in", signedFile, "-CAfile", writeTemp(t, dir, "ca.pem", certPEM(testCA(t))))
	if err != nil {
		t.Fatal("openssl cms -verify rejected the signature")
	}
	checkInner(t, plain, orig)
	tampered := bytes.Replace(signed, []byte("Dear patient"), []byte("Dear pAtient"), 1)
	if _, err := openssl(t, "cms", "-verify", "-in", writeTemp(t, dir, "bad.eml", tampered), "-CAfile", writeTemp(t, dir, "ca2.pem", certPEM(testCA(t)))); err == nil {
		t.Error("openssl verified a tampered signed message")
	}
}

func TestEncryptRefusesWithoutInit(t *testing.T) {
	old := pkcs7.ContentEncryptionAlgorithm
	pkcs7.ContentEncryptionAlgorithm = pkcs7.EncryptionAlgorithmDESCBC
	defer func() { pkcs7.ContentEncryptionAlgorithm = old }()
	rcpt := issue(t, certSpec{email: "patient@example.net"})
	if _, err := Encrypt(EncryptRequest{Message: testmsg.Mixed(), To: []*x509.Certificate{rcpt}}); !errors.Is(err, ErrNotInitialized) {
		t.Errorf("err = %v, want ErrNotInitialized", err)
	}
}

func TestEncryptErrors(t *testing.T) {
	if _, err := Encrypt(EncryptRequest{Message: testmsg.Mixed()}); !errors.Is(err, ErrNoRecipient) {
		t.Errorf("no recipient: err = %v", err)
	}
	rcpt := issue(t, certSpec{email: "patient@example.net"})
	_, err := Encrypt(EncryptRequest{Message: []byte("From: a@b\r\nBroken Diagnosis\r\n\r\n"), To: []*x509.Certificate{rcpt}})
	if err == nil || strings.Contains(err.Error(), "Diagnosis") {
		t.Errorf("malformed message: err = %v", err)
	}
}

func TestEncryptConcurrently(t *testing.T) {
	rcpt := issue(t, certSpec{email: "patient@example.net"})
	org := issue(t, certSpec{email: "security@example-clinic.org", key: testKey(t, 3)})
	req := EncryptRequest{Message: testmsg.Mixed(), To: []*x509.Certificate{rcpt}, Signer: &Signer{Cert: org, Key: testKey(t, 3)}}
	testenv.Concurrently(t, 8, func() error {
		_, err := Encrypt(req)
		return err
	})
}
