package portal

import (
	"errors"
	"net/http"
	"strings"

	"github.com/sealgate/sealgate/passwd"
	"github.com/sealgate/sealgate/portal/totp"
	"github.com/sealgate/sealgate/store"
)

// minPassword is the shortest password a recipient may set (NIST SP
// 800-63B asks for at least 8; we ask for more, and allow passphrases).
const minPassword = 10

// factorSession returns a session that has proven the code but not yet
// every factor; others are sent where they belong.
func (s *Server) factorSession(w http.ResponseWriter, r *http.Request, post bool) (session, bool) {
	var sess session
	var ok bool
	if post {
		sess, ok = s.form(w, r)
	} else {
		sess, ok = s.session(w, r)
	}
	if !ok {
		return sess, false
	}
	if !sess.codeOK || sess.authed {
		http.Redirect(w, r, "/pickup", http.StatusSeeOther)
		return sess, false
	}
	return sess, true
}

// verifyPage shows the next factor: set or enter a password, enrol or
// enter an authenticator code.
func (s *Server) verifyPage(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.factorSession(w, r, false)
	if ok {
		s.renderFactor(w, r, sess, "")
	}
}

func (s *Server) renderFactor(w http.ResponseWriter, r *http.Request, sess session, errMsg string) {
	creds, err := s.opts.Store.Credentials(r.Context(), sess.recipient)
	if err != nil {
		s.pages.info(w, r, http.StatusInternalServerError, "info.error", nil)
		return
	}
	l := s.lang(r)
	v := view{CSRF: sess.csrf}
	if errMsg != "" {
		v.Error = l.T(errMsg, minPassword)
	}
	switch s.stage(sess) {
	case "password":
		v.Factor = factorView{Enrol: creds.PasswordHash == "", MinLength: minPassword}
		v.Title = l.T(map[bool]string{true: "password.title.new", false: "password.title"}[v.Factor.Enrol])
		s.pages.render(w, r, http.StatusOK, "password", v)
	case "totp":
		v.Title = l.T("totp.title")
		if creds.TOTPSecret == nil {
			v.Title = l.T("totp.title.new")
			v.Factor = s.enrolView(sess)
		}
		s.pages.render(w, r, http.StatusOK, "totp", v)
	default:
		s.advance(w, r, sess)
	}
}

// enrolView shows the session's pending TOTP secret, making one if needed.
func (s *Server) enrolView(sess session) factorView {
	secret := sess.pendingTOTP
	if secret == nil {
		secret = totp.NewSecret()
		s.sessions.update(sess.id, func(p *session) { p.pendingTOTP = secret })
	}
	enc := totp.Encode(secret)
	var groups []string
	for i := 0; i < len(enc); i += 4 {
		groups = append(groups, enc[i:min(i+4, len(enc))])
	}
	org := s.opts.Branding.Organization
	return factorView{Enrol: true, Secret: strings.Join(groups, " "), URI: totp.URI(secret, org, sess.recipient),
		Issuer: org, AccountFor: sess.recipient}
}

// password sets the recipient's password on the first visit, or checks it.
func (s *Server) password(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.factorSession(w, r, true)
	if !ok || s.stage(sess) != "password" || !s.clientAllowed(w, r, sess) {
		return
	}
	creds, err := s.opts.Store.Credentials(r.Context(), sess.recipient)
	if err != nil {
		s.pages.info(w, r, http.StatusInternalServerError, "info.error", nil)
		return
	}
	pw := r.PostFormValue("password")
	if creds.PasswordHash == "" {
		s.setPassword(w, r, sess, pw, r.PostFormValue("confirm"))
		return
	}
	if good, _ := passwd.Verify(creds.PasswordHash, []byte(pw)); !good {
		s.factorFailed(w, r, sess, "password", "password.wrong")
		return
	}
	sess.passwordOK = true
	s.sessions.update(sess.id, func(p *session) { p.passwordOK = true })
	s.advance(w, r, sess)
}

func (s *Server) setPassword(w http.ResponseWriter, r *http.Request, sess session, pw, confirm string) {
	switch {
	case len([]rune(pw)) < minPassword || len(pw) > 256:
		s.renderFactor(w, r, sess, "password.short")
		return
	case pw != confirm:
		s.renderFactor(w, r, sess, "password.differ")
		return
	}
	hash, err := passwd.Hash([]byte(pw))
	if err == nil {
		err = s.opts.Store.SetPassword(r.Context(), sess.recipient, hash)
	}
	if errors.Is(err, store.ErrExists) {
		s.renderFactor(w, r, sess, "password.exists")
		return
	}
	if err != nil {
		s.pages.info(w, r, http.StatusInternalServerError, "info.error", nil)
		return
	}
	sess.passwordOK = true
	s.sessions.update(sess.id, func(p *session) { p.passwordOK = true })
	s.advance(w, r, sess)
}

// totp confirms an enrolment or checks an authenticator code; a code is
// accepted once.
func (s *Server) totp(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.factorSession(w, r, true)
	if !ok || s.stage(sess) != "totp" || !s.clientAllowed(w, r, sess) {
		return
	}
	creds, err := s.opts.Store.Credentials(r.Context(), sess.recipient)
	if err != nil {
		s.pages.info(w, r, http.StatusInternalServerError, "info.error", nil)
		return
	}
	code := r.PostFormValue("code")
	if creds.TOTPSecret == nil && sess.pendingTOTP != nil {
		step, good := totp.Verify(sess.pendingTOTP, code, s.opts.Now())
		if good {
			err = s.opts.Store.SetTOTP(r.Context(), sess.recipient, sess.pendingTOTP, step)
		}
		if !good || err != nil {
			s.factorFailed(w, r, sess, "totp", "totp.mismatch")
			return
		}
	} else {
		step, good := totp.Verify(creds.TOTPSecret, code, s.opts.Now())
		if !good || s.opts.Store.UseTOTPStep(r.Context(), sess.recipient, step) != nil {
			s.factorFailed(w, r, sess, "totp", "totp.wrong")
			return
		}
	}
	sess.totpOK = true
	s.sessions.update(sess.id, func(p *session) { p.totpOK = true })
	s.advance(w, r, sess)
}

// clientAllowed answers for a client address over its failure limit.
func (s *Server) clientAllowed(w http.ResponseWriter, r *http.Request, sess session) bool {
	v, err := s.over(r.Context(), s.rates.failures, remoteIP(r))
	if err != nil {
		s.storeDown(w, r, "rate limit")
		return false
	}
	if v.ok {
		return true
	}
	s.metrics.fail(failClient)
	s.endSession(w, r, sess)
	return false
}

// factorFailed counts a wrong password or authenticator code; at the
// attempt limit the session ends and a new emailed code is needed.
func (s *Server) factorFailed(w http.ResponseWriter, r *http.Request, sess session, which, msg string) {
	if _, err := s.take(r.Context(), s.rates.failures, remoteIP(r)); err != nil {
		s.storeDown(w, r, "rate limit")
		return
	}
	s.metrics.fail(failFactor)
	s.record(r.Context(), store.Event{MessageID: sess.messageID, Kind: store.EventFactorFail,
		Actor: sess.recipient, Remote: remoteIP(r), Detail: which})
	if sess.failures+1 >= s.opts.MaxCodeAttempts {
		s.endSession(w, r, sess)
		return
	}
	s.sessions.update(sess.id, func(p *session) { p.failures++ })
	s.renderFactor(w, r, sess, msg)
}

func (s *Server) endSession(w http.ResponseWriter, r *http.Request, sess session) {
	s.sessions.remove(sess.id)
	clearCookie(w)
	s.pages.info(w, r, http.StatusForbidden, "info.toomany", nil)
}
