package portal

import (
	"errors"
	"net/http"

	"github.com/sealgate/sealgate/store"
)

// verifyCode checks the one-time code. Success rotates the session (new
// ID and CSRF token) and opens the message.
func (s *Server) verifyCode(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.form(w, r)
	if !ok {
		return
	}
	code := normalizeCode(r.PostFormValue("code"))
	s.rememberZone(r, sess)
	v, err := s.over(r.Context(), s.rates.failures, remoteIP(r))
	switch {
	case err != nil:
		s.storeDown(w, r, "rate limit")
		return
	case !v.ok:
		s.metrics.fail(failClient)
		err = store.ErrLocked
	case sess.decoy:
		err = s.decoyCode(r, sess)
	default:
		err = s.opts.Store.CheckCode(r.Context(), sess.messageID, s.opts.Master.CodeHash(sess.messageID, code), s.codePolicy())
	}
	if err == nil {
		s.login(w, r, sess)
		return
	}
	if errIsStore(err) {
		s.storeDown(w, r, "code check")
		return
	}
	s.codeFailed(w, r, sess, err)
}

// decoyCode answers a code entered for a decoy: always wrong, and locked
// after as many tries as a real message allows.
func (s *Server) decoyCode(r *http.Request, sess session) error {
	ws, err := s.opts.Store.Hit(r.Context(), s.opts.Lockout, decoyKey("fail", sess.id))
	switch {
	case err != nil:
		return err
	case ws[0].Count >= s.opts.MaxCodeAttempts:
		return store.ErrLocked
	}
	return store.ErrCodeWrong
}

// errIsStore tells a store failure from a code that was wrong, locked or
// for a message that is gone.
func errIsStore(err error) bool {
	for _, known := range []error{store.ErrCodeWrong, store.ErrLocked, store.ErrGone, store.ErrNotFound} {
		if errors.Is(err, known) {
			return false
		}
	}
	return err != nil
}

func (s *Server) login(w http.ResponseWriter, r *http.Request, sess session) {
	m, err := s.opts.Store.Get(r.Context(), sess.messageID)
	if err != nil {
		s.codeFailed(w, r, sess, err)
		return
	}
	next, ok := s.sessions.rotate(sess.id, func(p *session) {
		p.codeOK, p.recipient, p.failures = true, m.Recipient, 0
	})
	if !ok {
		s.session(w, r)
		return
	}
	setCookie(w, next)
	s.advance(w, r, next)
}

// stage names the next factor the session must prove, or "".
func (s *Server) stage(sess session) string {
	switch {
	case !sess.codeOK:
		return "code"
	case s.opts.RequirePassword && !sess.passwordOK:
		return "password"
	case s.opts.RequireTOTP && !sess.totpOK:
		return "totp"
	}
	return ""
}

// advance sends the session to its next factor, or signs it in.
func (s *Server) advance(w http.ResponseWriter, r *http.Request, sess session) {
	if s.stage(sess) != "" {
		http.Redirect(w, r, "/verify", http.StatusSeeOther)
		return
	}
	s.sessions.update(sess.id, func(p *session) { p.authed, p.pendingTOTP = true, nil })
	s.record(r.Context(), store.Event{MessageID: sess.messageID, Kind: store.EventLogin, Actor: sess.recipient, Remote: remoteIP(r)})
	http.Redirect(w, r, "/message", http.StatusSeeOther)
}

// codeFailed counts and audits a failed code and shows the same page for
// a real message and an unknown link.
func (s *Server) codeFailed(w http.ResponseWriter, r *http.Request, sess session, err error) {
	locked := errors.Is(err, store.ErrLocked)
	if _, err := s.take(r.Context(), s.rates.failures, remoteIP(r)); err != nil {
		s.storeDown(w, r, "rate limit")
		return
	}
	s.sessions.update(sess.id, func(p *session) {
		p.failures++
		if locked && p.lockedUntil.IsZero() {
			p.lockedUntil = s.opts.Now().Add(s.opts.Lockout)
		}
	})
	l := s.lang(r)
	kind, msg := failCodeWrong, l.T("code.wrong")
	if locked {
		kind = failCodeLocked
		msg = l.T("code.locked", l.Minutes(max(1, int(s.opts.Lockout.Minutes()))))
	}
	s.metrics.fail(kind)
	if !sess.decoy {
		ev := store.Event{MessageID: sess.messageID, Kind: store.EventCodeFailed, Remote: remoteIP(r)}
		if errors.Is(err, store.ErrLocked) {
			ev.Kind = store.EventLocked
		}
		s.record(r.Context(), ev)
	}
	v := s.codeView(r, sess)
	v.Error = msg
	s.pages.render(w, r, http.StatusOK, "code", v)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.form(w, r)
	if !ok {
		return
	}
	s.sessions.remove(sess.id)
	clearCookie(w)
	s.pages.info(w, r, http.StatusOK, "info.signedout", nil)
}
