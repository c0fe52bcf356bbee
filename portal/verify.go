package portal

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/sealgate/sealgate/portal/store"
)

// verifyCode checks the one-time code. Success rotates the session (new
// ID and CSRF token) and opens the message.
func (s *Server) verifyCode(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.form(w, r)
	if !ok {
		return
	}
	code := normalizeCode(r.PostFormValue("code"))
	var err error
	key := clientKey(remoteIP(r))
	switch {
	case !s.failures.allow(key):
		s.metrics.fail(failClient)
		err = store.ErrLocked
	case sess.messageID != "":
		err = s.opts.Store.CheckCode(r.Context(), sess.messageID, s.opts.Master.CodeHash(sess.messageID, code), s.codePolicy())
	case s.opts.Now().Before(sess.lockedUntil) || sess.failures+1 >= s.opts.MaxCodeAttempts:
		err = store.ErrLocked // an unknown link locks like a real one
	default:
		err = store.ErrCodeWrong
	}
	if err == nil {
		s.login(w, r, sess)
		return
	}
	s.codeFailed(w, r, sess, err)
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
	s.failures.add(clientKey(remoteIP(r)))
	s.sessions.update(sess.id, func(p *session) {
		p.failures++
		if locked && p.lockedUntil.IsZero() {
			p.lockedUntil = s.opts.Now().Add(s.opts.Lockout)
		}
	})
	kind, msg := failCodeWrong, "That code did not work. Check it and try again, or ask for a new code."
	if locked {
		kind = failCodeLocked
		msg = fmt.Sprintf("Too many tries. For your safety, wait %d minutes and then ask for a new code.",
			max(1, int(s.opts.Lockout.Minutes())))
	}
	s.metrics.fail(kind)
	if sess.messageID != "" {
		ev := store.Event{MessageID: sess.messageID, Kind: store.EventCodeFailed, Remote: remoteIP(r)}
		if errors.Is(err, store.ErrLocked) {
			ev.Kind = store.EventLocked
		}
		s.record(r.Context(), ev)
	}
	v := view{Title: "Enter your code", CSRF: sess.csrf, CodeMinutes: s.codeMinutes(), Error: msg}
	s.pages.render(w, http.StatusOK, "code", v)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.form(w, r)
	if !ok {
		return
	}
	s.sessions.remove(sess.id)
	clearCookie(w)
	s.pages.info(w, http.StatusOK, "You are signed out", "You can close this page. To read the message again, open the link in your email.", nil)
}
