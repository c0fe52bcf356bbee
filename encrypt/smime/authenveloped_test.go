package smime

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"slices"
	"testing"

	"github.com/sealgate/sealgate/encrypt/internal/testmsg"
	"github.com/sealgate/sealgate/internal/testenv"
)

// gcmCert is a recipient certificate that announces AES-256-GCM.
func gcmCert(t *testing.T) *x509.Certificate {
	return issue(t, certSpec{email: "patient@example.net", key: testKey(t, 1),
		extra: []pkix.Extension{CapabilitiesExtension()}})
}

func TestContentFor(t *testing.T) {
	plain := issue(t, certSpec{email: "patient@example.net", key: testKey(t, 1)})
	gcm := gcmCert(t)
	for _, c := range []struct {
		certs []*x509.Certificate
		want  string
	}{
		{[]*x509.Certificate{gcm}, AES256GCM},
		{[]*x509.Certificate{plain}, AES256CBC},
		{[]*x509.Certificate{gcm, plain}, AES256CBC}, // every recipient must read it
		{nil, AES256CBC},
	} {
		if got := ContentFor(c.certs); got != c.want {
			t.Errorf("%d certificates: %s, want %s", len(c.certs), got, c.want)
		}
	}
}

// A recipient whose certificate announces AES-256-GCM gets a signed
// message in AES-256-GCM AuthEnvelopedData: OpenSSL 3 decrypts it (which
// checks the GCM tag), verifies the signature inside, and refuses it once
// a byte of the ciphertext is changed.
func TestAuthEnvelopedDecryptsAndVerifiesWithOpenSSL(t *testing.T) {
	testenv.Tool(t, "openssl")
	dir := t.TempDir()
	rcpt := gcmCert(t)
	org := issue(t, certSpec{email: "security@example-clinic.org", key: testKey(t, 3)})
	orig := testmsg.Mixed()
	out, err := Encrypt(EncryptRequest{Message: orig, To: []*x509.Certificate{rcpt},
		Signer: &Signer{Cert: org, Key: testKey(t, 3)}})
	if err != nil {
		t.Fatal(err)
	}
	checkOuter(t, out, "Secure message")
	if !bytes.Contains(out, []byte("smime-type=authEnveloped-data")) {
		t.Fatalf("outer header does not say authEnveloped-data:\n%.400s", out)
	}
	msg := writeTemp(t, dir, "msg.eml", out)
	printed, err := openssl(t, "cms", "-cmsout", "-print", "-in", msg)
	if algs := cmsAlgorithms(printed); err != nil || !slices.Contains(algs, "aes-256-gcm") || slices.Contains(algs, "aes-256-cbc") {
		t.Errorf("content encryption is not AES-256-GCM (algorithms %q):\n%s", algs, printed)
	}
	if !bytes.Contains(printed, []byte("id-smime-ct-authEnvelopedData")) {
		t.Errorf("not AuthEnvelopedData:\n%s", printed)
	}
	recip := writeTemp(t, dir, "rcpt.pem", certPEM(rcpt))
	key := writeTemp(t, dir, "rcpt.key", keyPEM(t, testKey(t, 1)))
	signed, err := openssl(t, "cms", "-decrypt", "-in", msg, "-recip", recip, "-inkey", key)
	if err != nil {
		t.Fatal("openssl cms -decrypt failed")
	}
	if !bytes.Contains(signed, []byte("multipart/signed")) {
		t.Fatalf("decrypted content is not multipart/signed: %.200q", signed)
	}
	plain, err := openssl(t, "cms", "-verify", "-in", writeTemp(t, dir, "signed.eml", signed),
		"-CAfile", writeTemp(t, dir, "ca.pem", certPEM(testCA(t))))
	if err != nil {
		t.Fatal("openssl cms -verify rejected the signature")
	}
	checkInner(t, plain, orig)

	// Flip one bit of the DER ciphertext: the tag no longer matches.
	der, err := openssl(t, "cms", "-cmsout", "-in", msg, "-outform", "DER")
	if err != nil {
		t.Fatal(err)
	}
	der[len(der)-40] ^= 1
	bad := writeTemp(t, dir, "bad.der", der)
	if _, err := openssl(t, "cms", "-decrypt", "-inform", "DER", "-in", bad, "-recip", recip, "-inkey", key); err == nil {
		t.Error("openssl decrypted altered AuthEnvelopedData")
	}
}
