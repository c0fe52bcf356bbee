package encrypt

import (
	"crypto/x509"
	"log/slog"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/sealgate/sealgate/encrypt/pgp"
	"github.com/sealgate/sealgate/encrypt/smime"
)

// sendEncrypted sends p its own PGP/MIME or S/MIME copy. If the copy cannot
// be made (a key the library refuses), p moves on to the next method.
func (r *run) sendEncrypted(p *rcptState) {
	body, err := r.c.encrypt(p.choice, r.d.Body)
	if err != nil {
		why := reasonPGPFailed
		if p.choice.method == MethodSMIME {
			why = reasonSMIMEFailed
		}
		// Library errors name algorithms and packets, never content.
		r.c.cfg.Logger.Warn("encryption failed", slog.String("queue_id", r.d.QueueID),
			slog.String("method", p.choice.method), slog.String("error", err.Error()))
		r.fallback(p, why)
		return
	}
	p.choice.encryption = r.c.encryptionName(p.choice)
	ps := []*rcptState{p}
	r.finish(p, r.send(ps, r.sub(ps, body, r.protectedLevel()))[0])
}

// encryptionName says how encrypt protects ch's copy, for the audit log.
func (c *Courier) encryptionName(ch choice) string {
	name, signed := "openpgp", c.cfg.PGPSigner != nil
	if ch.method == MethodSMIME {
		name, signed = smime.ContentFor([]*x509.Certificate{ch.cert}), c.cfg.SMIMESigner != nil
	}
	if signed {
		name += "+signed"
	}
	return name
}

// encrypt makes the encrypted copy of msg for ch.
func (c *Courier) encrypt(ch choice, msg []byte) ([]byte, error) {
	if ch.method == MethodSMIME {
		return smime.Encrypt(smime.EncryptRequest{Message: msg, To: []*x509.Certificate{ch.cert},
			Signer: c.cfg.SMIMESigner, Subject: c.cfg.Subject})
	}
	return pgp.Encrypt(pgp.EncryptRequest{Message: msg, To: []*openpgp.Entity{ch.key},
		Archive: c.cfg.PGPArchive, Signer: c.cfg.PGPSigner, Subject: c.cfg.Subject, Now: c.cfg.Now()})
}
