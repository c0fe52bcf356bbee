package smtpd

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"strconv"
	"testing"

	"github.com/emersion/go-smtp"
)

func itoa(n int) string { return strconv.Itoa(n) }

func fingerprint(c tls.Certificate) string {
	sum := sha256.Sum256(c.Certificate[0])
	return hex.EncodeToString(sum[:])
}

func dialSubmitNoAuth(t *testing.T, address string, cfg *tls.Config) *smtp.Client {
	t.Helper()
	c, err := smtp.DialStartTLS(address, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
