package pgp

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/sealgate/sealgate/encrypt/internal/testmsg"
)

func TestLoadSigningKey(t *testing.T) {
	dir := t.TempDir()
	org := newEntity(t, "security@example-clinic.org", t0, 0)
	writeFile(t, dir, "plain.asc", armoredPrivate(t, org))
	protected := newEntity(t, "security@example-clinic.org", t0, 0)
	if err := protected.EncryptPrivateKeys([]byte("s3cret"), nil); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "protected.asc", armoredPrivate(t, protected))
	writeFile(t, dir, "public.asc", armoredPublic(t, org))
	writeFile(t, dir, "expired.asc", armoredPrivate(t, newEntity(t, "x@example-clinic.org", t0, 60)))

	if _, err := LoadSigningKey(filepath.Join(dir, "plain.asc"), nil, t0); err != nil {
		t.Errorf("unprotected key: %v", err)
	}
	e, err := LoadSigningKey(filepath.Join(dir, "protected.asc"), []byte("s3cret"), t0)
	if err != nil {
		t.Fatalf("protected key: %v", err)
	}
	rcpt := newEntity(t, "patient@example.net", t0, 0)
	if _, err := Encrypt(EncryptRequest{Message: testmsg.Mixed(), To: []*openpgp.Entity{rcpt}, Signer: e, Now: t0}); err != nil {
		t.Errorf("signing with the loaded key: %v", err)
	}
	for name, pass := range map[string][]byte{"protected.asc": []byte("wrong"), "public.asc": nil, "expired.asc": nil, "missing.asc": nil} {
		if _, err := LoadSigningKey(filepath.Join(dir, name), pass, t0.Add(time.Hour)); err == nil {
			t.Errorf("LoadSigningKey(%s) succeeded", name)
		}
	}
}
