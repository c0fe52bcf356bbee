package pgp

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/emersion/go-message"
	"github.com/sealgate/sealgate/encrypt/internal/testmsg"
	"github.com/sealgate/sealgate/internal/testenv"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// encryptedPart checks the PGP/MIME structure of out and returns its outer
// header and the armored data.
func encryptedPart(t *testing.T, out []byte) (message.Header, []byte) {
	t.Helper()
	m, err := message.Read(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, _ := m.Header.ContentType()
	if mt != "multipart/encrypted" || params["protocol"] != "application/pgp-encrypted" {
		t.Fatalf("outer type %q %v", mt, params)
	}
	mr := m.MultipartReader()
	var parts [][]byte
	var types []string
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ct, _, _ := p.Header.ContentType()
		b, _ := io.ReadAll(p.Body)
		types, parts = append(types, ct), append(parts, b)
	}
	if len(parts) != 2 || types[0] != "application/pgp-encrypted" || types[1] != "application/octet-stream" {
		t.Fatalf("parts %v", types)
	}
	if !strings.Contains(string(parts[0]), "Version: 1") {
		t.Errorf("version part %q", parts[0])
	}
	if !bytes.HasPrefix(parts[1], []byte("-----BEGIN PGP MESSAGE-----")) {
		t.Errorf("data part not armored: %.40q", parts[1])
	}
	return m.Header, parts[1]
}

func TestEncryptDecryptsWithGPG(t *testing.T) {
	g := newGPG(t)
	rcpt := newEntity(t, "patient@example.net", t0, 0)
	archive := newEntity(t, "archive@example-clinic.org", t0, 0)
	g.importKey(armoredPrivate(t, rcpt))
	orig := testmsg.Mixed()
	out, err := Encrypt(EncryptRequest{Message: orig, To: []*openpgp.Entity{rcpt}, Archive: archive})
	if err != nil {
		t.Fatal(err)
	}
	hdr, armored := encryptedPart(t, out)
	if s := hdr.Get("Subject"); s != "Secure message" {
		t.Errorf("outer Subject = %q", s)
	}
	if strings.Contains(string(out), "biopsy") {
		t.Error("real subject visible outside the encryption")
	}
	plain, status, err := g.run(armored, "--decrypt")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(status, "DECRYPTION_OKAY") {
		t.Errorf("gpg status lacks DECRYPTION_OKAY:\n%s", status)
	}
	// RFC 4880 §9.2: 9 is AES-256; the MDC (method 2) protects integrity.
	if !strings.Contains(status, "DECRYPTION_INFO 2 9") {
		t.Errorf("not AES-256 with MDC:\n%s", status)
	}
	testmsg.CheckInner(t, plain, orig)
}

func TestEncryptArchiveKeyDecrypts(t *testing.T) {
	g := newGPG(t)
	rcpt := newEntity(t, "patient@example.net", t0, 0)
	archive := newEntity(t, "archive@example-clinic.org", t0, 0)
	g.importKey(armoredPrivate(t, archive))
	orig := testmsg.Mixed()
	out, err := Encrypt(EncryptRequest{Message: orig, To: []*openpgp.Entity{rcpt}, Archive: archive, Subject: "Neue Nachricht"})
	if err != nil {
		t.Fatal(err)
	}
	hdr, armored := encryptedPart(t, out)
	if s, _ := hdr.Text("Subject"); s != "Neue Nachricht" {
		t.Errorf("outer Subject = %q", s)
	}
	plain, _, err := g.run(armored, "--decrypt")
	if err != nil {
		t.Fatal(err)
	}
	testmsg.CheckInner(t, plain, orig)
}

func TestEncryptSignedVerifiesWithGPG(t *testing.T) {
	g := newGPG(t)
	rcpt := newEntity(t, "patient@example.net", t0, 0)
	org := newEntity(t, "security@example-clinic.org", t0, 0)
	g.importKey(armoredPrivate(t, rcpt))
	g.importKey(armoredPublic(t, org))
	orig := testmsg.Mixed()
	out, err := Encrypt(EncryptRequest{Message: orig, To: []*openpgp.Entity{rcpt}, Signer: org})
	if err != nil {
		t.Fatal(err)
	}
	_, armored := encryptedPart(t, out)
	plain, status, err := g.run(armored, "--decrypt")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(status, "GOODSIG") {
		t.Errorf("gpg did not report a good signature:\n%s", status)
	}
	testmsg.CheckInner(t, plain, orig)
}

func TestEncryptRejectsUnusableKeys(t *testing.T) {
	if _, err := Encrypt(EncryptRequest{Message: testmsg.Mixed()}); !errors.Is(err, ErrNoRecipient) {
		t.Errorf("no recipient: err = %v", err)
	}
	expired := newEntity(t, "old@example.net", t0, 3600)
	_, err := Encrypt(EncryptRequest{Message: testmsg.Mixed(), To: []*openpgp.Entity{expired}, Now: t0.Add(2 * time.Hour)})
	if err == nil {
		t.Error("encrypted to an expired key")
	}
	rcpt := newEntity(t, "patient@example.net", t0, 0)
	_, err = Encrypt(EncryptRequest{Message: []byte("From: a@b\r\nBroken Diagnosis\r\n\r\n"), To: []*openpgp.Entity{rcpt}})
	if err == nil || strings.Contains(err.Error(), "Diagnosis") {
		t.Errorf("malformed message: err = %v", err)
	}
}

func TestEncryptToGPGGeneratedKey(t *testing.T) {
	g := newGPG(t)
	if _, _, err := g.run(nil, "--pinentry-mode", "loopback", "--passphrase", "",
		"--quick-gen-key", "Pat <pat@example.net>", "future-default", "default", "never"); err != nil {
		t.Fatal(err)
	}
	pub, _, err := g.run(nil, "--armor", "--export", "pat@example.net")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFile(t, dir, "pat.asc", pub)
	k, err := LoadKeyring(dir, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	key, ok := k.Lookup("pat@example.net", time.Now())
	if !ok {
		t.Fatal("key exported by gpg not found in the keyring")
	}
	orig := testmsg.Mixed()
	out, err := Encrypt(EncryptRequest{Message: orig, To: []*openpgp.Entity{key}})
	if err != nil {
		t.Fatal(err)
	}
	_, armored := encryptedPart(t, out)
	plain, status, err := g.run(armored, "--pinentry-mode", "loopback", "--passphrase", "", "--decrypt")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(status, "DECRYPTION_INFO 2 9") {
		t.Errorf("not AES-256 with MDC:\n%s", status)
	}
	testmsg.CheckInner(t, plain, orig)
}

func TestEncryptConcurrently(t *testing.T) {
	rcpt := newEntity(t, "patient@example.net", t0, 0)
	org := newEntity(t, "security@example-clinic.org", t0, 0)
	req := EncryptRequest{Message: testmsg.Mixed(), To: []*openpgp.Entity{rcpt}, Signer: org}
	testenv.Concurrently(t, 8, func() error {
		_, err := Encrypt(req)
		return err
	})
}
