package delivery

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/textproto"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/sealgate/sealgate/dane"
	"github.com/sealgate/sealgate/mail"
)

// go-smtp's client has no way to say our EHLO name before STARTTLS, so the
// plaintext part of the session (greeting, EHLO, STARTTLS) is spoken here
// and go-smtp takes over afterwards.

var (
	errNoSTARTTLS   = errors.New("server does not offer STARTTLS")
	errPipelinedTLS = errors.New("server sent data after its STARTTLS reply")
	errNoPeerCert   = errors.New("server sent no certificate")
)

// startTLS greets, says EHLO and upgrades to TLS. With TLSMay, a server
// that does not offer STARTTLS (or refuses EHLO) is used in plaintext.
func (c *Client) startTLS(ctx context.Context, s *session, level mail.TLSLevel) *Error {
	_ = s.conn.SetDeadline(time.Now().Add(c.cfg.CommandTimeout))
	tp := textproto.NewConn(s.conn)
	if _, _, err := tp.ReadResponse(220); err != nil {
		return replyError(protoError(err), CmdConnect, s.hop.host)
	}
	offered, err := c.ehloOffersTLS(tp)
	if err != nil && !isReply(err) {
		return replyError(err, "EHLO", s.hop.host)
	}
	if err != nil || !offered {
		if level == mail.TLSMay {
			_ = s.conn.SetDeadline(time.Time{})
			s.client = smtp.NewClient(newGreeted(s.conn, tp.R))
			return nil
		}
		return localError(false, "4.7.4", "STARTTLS", s.hop.host, "TLS is required and the server does not offer STARTTLS", errNoSTARTTLS)
	}
	if _, err := tp.Cmd("STARTTLS"); err != nil {
		return replyError(err, CmdTLS, s.hop.host)
	}
	if _, _, err := tp.ReadResponse(220); err != nil {
		return localError(false, "4.7.4", CmdTLS, s.hop.host, "STARTTLS refused", protoError(err))
	}
	if tp.R.Buffered() > 0 {
		// RFC 3207 §5: nothing may be read before the handshake; anything
		// buffered now was injected in plaintext.
		return localError(false, "4.7.5", CmdTLS, s.hop.host, "STARTTLS reply followed by unexpected data", errPipelinedTLS)
	}
	tc, terr := c.handshake(ctx, s, level)
	if terr != nil {
		return terr
	}
	s.client = smtp.NewClient(newGreeted(tc, tc))
	return nil
}

// ehloOffersTLS says EHLO and reports whether STARTTLS is advertised.
func (c *Client) ehloOffersTLS(tp *textproto.Conn) (bool, error) {
	if _, err := tp.Cmd("EHLO %s", c.cfg.Hostname); err != nil {
		return false, err
	}
	_, msg, err := tp.ReadResponse(250)
	if err != nil {
		return false, protoError(err)
	}
	lines := strings.Split(msg, "\n")
	for _, l := range lines[1:] {
		if kw, _, _ := strings.Cut(l, " "); strings.EqualFold(kw, "STARTTLS") {
			return true, nil
		}
	}
	return false, nil
}

// protoError turns a textproto reply error into go-smtp's SMTPError, so
// replies are classified the same way everywhere.
func protoError(err error) error {
	var pe *textproto.Error
	if !errors.As(err, &pe) {
		return err
	}
	se := &smtp.SMTPError{Code: pe.Code, Message: pe.Msg, EnhancedCode: smtp.NoEnhancedCode}
	if code, rest, ok := strings.Cut(pe.Msg, " "); ok {
		var ec smtp.EnhancedCode
		if parseEnhanced(code, &ec) {
			se.EnhancedCode, se.Message = ec, rest
		}
	}
	return se
}

// parseEnhanced parses "x.y.z".
func parseEnhanced(s string, ec *smtp.EnhancedCode) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return false
	}
	for i, p := range parts {
		if p == "" || len(p) > 3 {
			return false
		}
		n := 0
		for _, d := range p {
			if d < '0' || d > '9' {
				return false
			}
			n = n*10 + int(d-'0')
		}
		ec[i] = n
	}
	return true
}

// tlsConfig is the client TLS configuration for s at level. The peer is
// always judged (to record Verified); a failure ends the handshake at
// TLSVerify, and always when DANE applies (RFC 7672 §2.2: a TLSA mismatch
// is never delivered to). ServerName is the hop's host name, never the
// dialled IP.
func (c *Client) tlsConfig(s *session, level mail.TLSLevel) *tls.Config {
	h := s.hop
	return &tls.Config{
		ServerName:         h.host,
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, // verified in VerifyConnection below
		ClientSessionCache: c.tlsCache,
		VerifyConnection: func(cs tls.ConnectionState) error {
			method, err := c.verifyPeer(h, cs.PeerCertificates)
			s.verified, s.verifyErr = err == nil, err
			if err == nil {
				s.method = method
			}
			if err != nil && (level >= mail.TLSVerify || len(h.tls.tlsa) > 0) {
				return err
			}
			return nil
		},
	}
}

// verifyPeer is the one place a peer is judged: against the hop's usable
// secure TLSA records when there are any (DANE, RFC 7672 §3: PKIX not
// required), else PKIX for the hop's host name against the configured
// roots. It returns the method that succeeded: PKIX counts as mta-sts or
// pinned when the hop's name was authenticated that way.
func (c *Client) verifyPeer(h hop, certs []*x509.Certificate) (mail.Verification, error) {
	if len(certs) == 0 {
		return "", errNoPeerCert
	}
	if len(h.tls.tlsa) > 0 {
		err := dane.Verify(dane.VerifyRequest{Records: h.tls.tlsa, Chain: certs, Names: []string{h.host}})
		return mail.VerifiedDANE, err
	}
	inter := x509.NewCertPool()
	for _, cert := range certs[1:] {
		inter.AddCert(cert)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{
		Roots:         c.cfg.RootCAs,
		DNSName:       h.host,
		Intermediates: inter,
	})
	if kind := h.tls.authKind(); kind != "" {
		return kind, err // mta-sts or pinned
	}
	return mail.VerifiedPKIX, err
}
