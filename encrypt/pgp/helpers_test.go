package pgp

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/sealgate/sealgate/internal/testenv"
)

// newEntity makes an Ed25519/Curve25519 key for email, created at created.
func newEntity(t testing.TB, email string, created time.Time, lifetime uint32) *openpgp.Entity {
	t.Helper()
	cfg := &packet.Config{
		Algorithm:       packet.PubKeyAlgoEdDSA,
		Curve:           packet.Curve25519,
		DefaultCipher:   packet.CipherAES256,
		KeyLifetimeSecs: lifetime,
		Time:            func() time.Time { return created },
	}
	e, err := openpgp.NewEntity("Test User", "", email, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// armoredPublic returns e's public key, armored.
func armoredPublic(t testing.TB, e *openpgp.Entity) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := armor.Encode(&b, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Serialize(w); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// armoredPrivate returns e's secret key, armored.
func armoredPrivate(t testing.TB, e *openpgp.Entity) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := armor.Encode(&b, openpgp.PrivateKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SerializePrivateWithoutSigning(w, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// gpg runs GnuPG in a private home under /tmp (short enough for the agent's
// socket path) that is removed, agent included, when the test ends.
type gpg struct {
	t    testing.TB
	home string
}

func newGPG(t testing.TB) *gpg {
	t.Helper()
	testenv.Tool(t, "gpg")
	home, err := os.MkdirTemp("/tmp", "gpg")
	if err != nil {
		t.Fatal(err)
	}
	g := &gpg{t: t, home: home}
	t.Cleanup(func() {
		cmd := exec.Command("gpgconf", "--kill", "all")
		cmd.Env = append(os.Environ(), "GNUPGHOME="+home)
		_ = cmd.Run()
		os.RemoveAll(home)
	})
	return g
}

// run runs gpg with args and stdin, returning stdout and the status lines.
func (g *gpg) run(stdin []byte, args ...string) (out []byte, status string, err error) {
	g.t.Helper()
	statusFile := filepath.Join(g.home, "status")
	full := append([]string{"--batch", "--no-tty", "--status-file", statusFile}, args...)
	cmd := exec.Command("gpg", full...)
	cmd.Env = append(os.Environ(), "GNUPGHOME="+g.home)
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	st, _ := os.ReadFile(statusFile)
	if err != nil {
		g.t.Logf("gpg %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes(), string(st), err
}

// importKey imports an armored key into the home.
func (g *gpg) importKey(key []byte) {
	g.t.Helper()
	if _, _, err := g.run(key, "--import"); err != nil {
		g.t.Fatalf("gpg --import: %v", err)
	}
}
