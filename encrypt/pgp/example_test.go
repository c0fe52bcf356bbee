package pgp_test

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/sealgate/sealgate/encrypt/pgp"
)

// Example shows how a delivery finds a recipient's key, in the keyring
// folder first and then in the recipient's Web Key Directory, and encrypts.
func Example() {
	log := slog.Default()
	keyring, err := pgp.LoadKeyring("/etc/sealgate/pgp", time.Now(), log)
	if err != nil {
		return // the folder is missing: a configuration error
	}
	wkd := pgp.NewWKDClient(pgp.WKDConfig{Client: &http.Client{Timeout: 10 * time.Second}, Log: log})

	rcpt := "patient@example.net"
	key, ok := keyring.Lookup(rcpt, time.Now())
	if !ok {
		if key, err = wkd.Lookup(context.Background(), rcpt); err != nil {
			return // no key: the next method (S/MIME, TLS, portal) is tried
		}
	}
	msg := []byte("From: doctor@example-clinic.org\r\nTo: patient@example.net\r\nSubject: Results\r\n\r\nBenign.\r\n")
	wire, err := pgp.Encrypt(pgp.EncryptRequest{Message: msg, To: []*openpgp.Entity{key}})
	_, _ = wire, err
}
