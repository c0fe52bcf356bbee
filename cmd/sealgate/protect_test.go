package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/smallstep/pkcs7"

	"github.com/sealgate/sealgate/config"
	"github.com/sealgate/sealgate/mail"
	"github.com/sealgate/sealgate/portal/box/boxtest"
)

// recorder is a next courier that keeps what it is given.
type recorder struct{ got []*mail.Delivery }

func (r *recorder) Deliver(_ context.Context, d *mail.Delivery) []mail.Outcome {
	r.got = append(r.got, d)
	out := make([]mail.Outcome, len(d.Rcpts))
	for i, rc := range d.Rcpts {
		out[i] = mail.Outcome{Rcpt: rc.Addr}
	}
	return out
}

// protectConfig is the default config with key folders under dir.
func protectConfig(t *testing.T, dir string) *config.Config {
	t.Helper()
	cfg := config.Default(dir)
	cfg.Encrypt.PGP.Keyring = filepath.Join(dir, "pgp")
	cfg.Encrypt.SMIME.Certs = filepath.Join(dir, "smime")
	os.Mkdir(cfg.Encrypt.PGP.Keyring, 0o700)
	os.Mkdir(cfg.Encrypt.SMIME.Certs, 0o700)
	return cfg
}

func protectDelivery(rcpt string) *mail.Delivery {
	return &mail.Delivery{QueueID: "Q1", From: "lab@clinic.example.org", Domain: "example.net",
		Rcpts: []mail.Rcpt{{Addr: rcpt}}, Body: []byte(protMessage), TLS: mail.TLSVerify,
		Policy: mail.PolicySummary{PHI: true, Action: "encrypt"}}
}

func TestProtectorRefusesMissingKeyFolder(t *testing.T) {
	dir := t.TempDir()
	cfg := protectConfig(t, dir)
	cfg.Encrypt.PGP.Keyring = filepath.Join(dir, "nope")
	_, _, err := newProtector(cfg, slog.New(slog.DiscardHandler), nil, &recorder{}, nil, nil, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "encryption.pgp.keyring") {
		t.Fatalf("err = %v, want one naming encryption.pgp.keyring", err)
	}
	cfg = protectConfig(t, dir)
	cfg.Encrypt.PGP.ArchiveKey = protWrite(t, dir, "archive.asc", []byte("garbage"))
	if _, _, err := newProtector(cfg, slog.New(slog.DiscardHandler), nil, &recorder{}, nil, nil, nil, nil); err == nil ||
		!strings.Contains(err.Error(), "encryption.pgp.archive_key") {
		t.Fatalf("err = %v, want one naming encryption.pgp.archive_key", err)
	}
}

func TestProtectorWithoutPortalOpensNoStore(t *testing.T) {
	dir := t.TempDir()
	cfg := protectConfig(t, dir)
	cfg.Encrypt.Order = []string{"pgp", "tls"}
	c, closeFn, err := newProtector(cfg, slog.New(slog.DiscardHandler), nil, &recorder{}, nil, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn.Close()
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "portal")); !os.IsNotExist(err) {
		t.Errorf("portal store created without the portal method: %v", err)
	}
	if c == nil {
		t.Fatal("no courier")
	}
}

// With the portal among the methods and no pickup store, the protection
// layer is not built: a message meant for pickup would have nowhere to go.
func TestProtectorRefusesPortalWithoutStore(t *testing.T) {
	cfg := protectConfig(t, t.TempDir())
	_, _, err := newProtector(cfg, slog.New(slog.DiscardHandler), nil, &recorder{}, nil, nil, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "no pickup store") {
		t.Fatalf("err = %v, want one saying no pickup store is open", err)
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "portal")); !os.IsNotExist(err) {
		t.Errorf("a portal folder was made: %v", err)
	}
}

// The organisation's archive key can decrypt, and its signing key signs.
func TestProtectorArchiveAndSigningKeys(t *testing.T) {
	dir := t.TempDir()
	cfg := protectConfig(t, dir)
	rcpt, archive, signer := protPGPKey(t, "pgp@example.net", 0), protPGPKey(t, "archive@clinic.example.org", 0), protPGPKey(t, "sign@clinic.example.org", 0)
	protWrite(t, cfg.Encrypt.PGP.Keyring, "rcpt.asc", protArmor(t, rcpt, false))
	cfg.Encrypt.PGP.ArchiveKey = protWrite(t, dir, "archive.asc", protArmor(t, archive, false))
	cfg.Encrypt.PGP.SignKey = protWrite(t, dir, "sign.asc", protArmor(t, signer, true))
	next := &recorder{}
	c, closeFn, err := newProtector(cfg, slog.New(slog.DiscardHandler), nil, next, boxtest.Open(t, nil), &lateSubmitter{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn.Close()
	if out := c.Deliver(context.Background(), protectDelivery("pgp@example.net")); out[0].Err != nil {
		t.Fatal(out[0].Err)
	}
	if len(next.got) != 1 {
		t.Fatalf("next got %d deliveries", len(next.got))
	}
	body := next.got[0].Body
	blk, err := armor.Decode(bytes.NewReader(body[bytes.Index(body, []byte("-----BEGIN PGP MESSAGE")):]))
	if err != nil {
		t.Fatal(err)
	}
	md, err := openpgp.ReadMessage(blk.Body, openpgp.EntityList{archive, signer}, nil, nil)
	if err != nil {
		t.Fatalf("archive key cannot decrypt: %v", err)
	}
	plain, _ := io.ReadAll(md.UnverifiedBody)
	if !bytes.Contains(plain, []byte("carcinoma")) || !md.IsSigned || md.SignatureError != nil || md.SignedBy == nil {
		t.Fatalf("signed=%v sigErr=%v plain ok=%v", md.IsSigned, md.SignatureError, bytes.Contains(plain, []byte("carcinoma")))
	}
}

func TestProtectorSMIMESigner(t *testing.T) {
	dir := t.TempDir()
	cfg := protectConfig(t, dir)
	cert := protCert(t, "smime@example.net", protCertExpiry())
	protWrite(t, cfg.Encrypt.SMIME.Certs, "rcpt.pem", pemOf(cert))
	cfg.Encrypt.SMIME.SignCert = protWrite(t, dir, "org.pem", pemOf(protCert(t, "lab@clinic.example.org", protCertExpiry())))
	cfg.Encrypt.SMIME.SignKey = protWrite(t, dir, "org.key", pemKey(t, &protEnv{env: &env{}, key: protRSAKey(t)}))
	next := &recorder{}
	c, closeFn, err := newProtector(cfg, slog.New(slog.DiscardHandler), nil, next, boxtest.Open(t, nil), &lateSubmitter{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn.Close()
	c.Deliver(context.Background(), protectDelivery("smime@example.net"))
	if len(next.got) != 1 {
		t.Fatalf("next got %d deliveries", len(next.got))
	}
	_, b64, _ := bytes.Cut(next.got[0].Body, []byte("\r\n\r\n"))
	der, err := base64.StdEncoding.DecodeString(string(bytes.ReplaceAll(b64, []byte("\r\n"), nil)))
	if err != nil {
		t.Fatal(err)
	}
	p7, err := pkcs7.Parse(der)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := p7.Decrypt(cert, protRSAKey(t))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(plain, []byte("multipart/signed")) || !bytes.Contains(plain, []byte("application/pkcs7-signature")) {
		t.Errorf("decrypted S/MIME is not signed:\n%.300s", plain)
	}
}

// A key dropped into the keyring folder is used after Reload (what SIGHUP
// does), without waiting for the periodic check.
func TestProtectorReloadPicksUpNewKey(t *testing.T) {
	dir := t.TempDir()
	cfg := protectConfig(t, dir)
	cfg.Encrypt.Order = []string{"pgp", "tls"}
	next := &recorder{}
	c, h, err := newProtector(cfg, slog.New(slog.DiscardHandler), nil, next, nil, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	out := c.Deliver(context.Background(), protectDelivery("late@example.net"))
	if out[0].Method != "tls" {
		t.Fatalf("before the key: method %q, want tls", out[0].Method)
	}
	protWrite(t, cfg.Encrypt.PGP.Keyring, "late.asc", protArmor(t, protPGPKey(t, "late@example.net", 0), false))
	h.Reload()
	out = c.Deliver(context.Background(), protectDelivery("late@example.net"))
	if out[0].Method != "pgp" {
		t.Fatalf("after reload: method %q, want pgp", out[0].Method)
	}
}
