package smtpd

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/sealgate/sealgate/addr"
	"github.com/sealgate/sealgate/passwd"
)

// identify names the client of this session: by AUTH, by client
// certificate fingerprint (on every listener, once TLS is up: a relaying
// MTA on an auth: none listener presents one instead of logging in), or by
// network where the listener does not require AUTH. Nobody is trusted by
// default.
func (s *session) identify() (*Client, error) {
	if s.authClient != nil {
		return s.authClient, nil
	}
	if c := s.byCertificate(); c != nil {
		return c, nil
	}
	if s.lst.Auth != "required" {
		for i := range s.srv.cfg.Clients {
			c := &s.srv.cfg.Clients[i]
			for _, p := range c.Networks {
				if s.remote.IsValid() && p.Contains(s.remote) {
					return c, nil
				}
			}
		}
	}
	return nil, errAuthRequired
}

func (s *session) byCertificate() *Client {
	st, ok := s.tlsState()
	if !ok || len(st.PeerCertificates) == 0 {
		return nil
	}
	sum := sha256.Sum256(st.PeerCertificates[0].Raw)
	fp := hex.EncodeToString(sum[:])
	for i := range s.srv.cfg.Clients {
		c := &s.srv.cfg.Clients[i]
		for _, want := range c.CertFingerprints {
			want = strings.ToLower(strings.ReplaceAll(want, ":", ""))
			if subtle.ConstantTimeCompare([]byte(want), []byte(fp)) == 1 {
				return c
			}
		}
	}
	return nil
}

// checkSender parses the reverse-path and checks it against the client's
// allowed_senders. The null sender needs "<>" or "*" in that list.
func checkSender(c *Client, from string, utf8 bool) (string, error) {
	if from == "" {
		for _, p := range c.AllowedSenders {
			if p == "<>" || p == "*" {
				return "", nil
			}
		}
		return "", errSenderDenied
	}
	a, err := addr.Parse(from, addr.Options{SMTPUTF8: utf8})
	if err != nil {
		return "", addrError(err)
	}
	if !senderAllowed(c, a) {
		return "", errSenderDenied
	}
	return a.String(), nil
}

func senderAllowed(c *Client, a addr.Address) bool {
	for _, p := range c.AllowedSenders {
		if addr.MatchGlob(p, a) {
			return true
		}
	}
	return false
}

func addrError(err error) error {
	if errors.Is(err, addr.ErrNonASCII) {
		return errNonASCII
	}
	return errBadAddress
}

// dummyHash is what an unknown user's password is checked against: a
// hash of a random password with the algorithm and cost that most
// configured clients' hashes have (argon2id with the same parameters, as
// `sealgate passwd` makes them), so a login for an unknown user runs the
// same work as one for a known user and its timing does not tell them
// apart.
func dummyHash(clients []Client) string {
	counts := map[string]int{}
	like, best := "", 0
	for _, c := range clients {
		if c.PasswordHash == "" {
			continue
		}
		k := costKey(c.PasswordHash, clients)
		if counts[k]++; counts[k] > best {
			like, best = c.PasswordHash, counts[k]
		}
	}
	return passwd.Dummy(like)
}

// costKey names the cost class of hash: the first configured hash of the
// same cost.
func costKey(hash string, clients []Client) string {
	for _, c := range clients {
		if c.PasswordHash != "" && passwd.SameCost(c.PasswordHash, hash) {
			return c.PasswordHash
		}
	}
	return hash
}

// authenticate checks a username and password. The reply is the same
// fixed 535 for every failure; after MaxAuthFailures the connection is
// closed, and failures per IP are rate-limited.
func (s *session) authenticate(identity, user, pass string) error {
	now := time.Now()
	ipKey := clientKey(s.remote).String()
	if !s.srv.authFail.peek(ipKey, now) || s.srv.sharedAuthRefused(s.ctx, ipKey, s.log) {
		s.log.Warn("authentication refused: too many failed logins from this address")
		s.guard.CloseAfterReply("auth_rate_limit")
		return s.srv.toReply(errAuthRateLimit, "")
	}
	c := s.srv.byUser[user]
	hash := s.srv.dummyHash
	if c != nil && c.PasswordHash != "" {
		hash = c.PasswordHash
	}
	ok := false
	if s.srv.cfg.VerifyPassword != nil {
		ok, _ = s.srv.cfg.VerifyPassword(hash, []byte(pass))
	}
	if ok && c != nil && (identity == "" || identity == user) {
		s.authClient = c
		s.log.Info("authenticated", slog.String("client", c.Name))
		return nil
	}
	s.authFailures++
	s.srv.m.authFailures.Inc()
	// The username is not logged: it is often an address.
	s.log.Warn("authentication failed", slog.Int("failures", s.authFailures))
	s.srv.authFail.allow(ipKey, now)
	s.srv.countSharedAuthFailure(s.ctx, ipKey, s.log)
	if s.authFailures >= s.srv.cfg.Limits.MaxAuthFailures {
		s.guard.CloseAfterReply("auth_failures")
	}
	return smtp.ErrAuthFailed
}

// loginServer is the server side of the LOGIN mechanism (draft-murchison-
// sasl-login), which go-sasl no longer provides: "Username:" and
// "Password:" challenges, then the same check as PLAIN.
type loginServer struct {
	check    func(identity, user, pass string) error
	user     string
	step     int
	finished bool
}

func newLoginServer(check func(identity, user, pass string) error) *loginServer {
	return &loginServer{check: check}
}

// Next implements sasl.Server.
func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step = 1
		if resp == nil {
			return []byte("Username:"), false, nil
		}
		fallthrough
	case 1:
		l.user, l.step = string(resp), 2
		return []byte("Password:"), false, nil
	default:
		return nil, true, l.check("", l.user, string(resp))
	}
}

// sharedAuthTimeout bounds one look-up of the shared failed-login count.
const sharedAuthTimeout = 2 * time.Second

// sharedAuthRefused reports whether the shared store counts too many
// failed logins for key. A store that cannot be read refuses nothing:
// the node's own count still applies.
func (srv *Server) sharedAuthRefused(ctx context.Context, key string, log *slog.Logger) bool {
	if srv.cfg.AuthFailures == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, sharedAuthTimeout)
	defer cancel()
	n, err := srv.cfg.AuthFailures.AuthFailures(ctx, key)
	if err != nil {
		log.Warn("shared failed-login count unavailable; this node's own count applies", slog.String("error", err.Error()))
		return false
	}
	return n >= SharedAuthFailures
}

// countSharedAuthFailure adds one failed login of key to the shared count.
func (srv *Server) countSharedAuthFailure(ctx context.Context, key string, log *slog.Logger) {
	if srv.cfg.AuthFailures == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, sharedAuthTimeout)
	defer cancel()
	if err := srv.cfg.AuthFailures.AddAuthFailure(ctx, key); err != nil {
		log.Warn("failed login not counted in the shared store", slog.String("error", err.Error()))
	}
}
