package portal

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"strings"
	"time"

	"github.com/sealgate/sealgate/internal/i18n"
	"github.com/sealgate/sealgate/store"
)

// openLink starts a session for a live link token and redirects to
// /pickup, so the token leaves the address bar and history. Every open
// counts against the client's link limit first, real or not. An unknown,
// revoked or expired token makes no session: it gets a decoy, and the
// pages look the same up to the code check, so nobody learns from them
// whether a message exists.
func (s *Server) openLink(w http.ResponseWriter, r *http.Request) {
	if !s.allow(w, r, s.rates.links) {
		return
	}
	m, err := s.opts.Store.Lookup(r.Context(), r.PathValue("token"))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.storeDown(w, r, "link lookup")
		return
	}
	if err != nil || !m.Live(s.opts.Now()) {
		setCookie(w, s.decoys.create())
		http.Redirect(w, r, "/pickup", http.StatusSeeOther)
		return
	}
	sess := s.sessions.create(m.ID)
	if sess == nil {
		s.metrics.fail(failFull)
		s.pages.info(w, r, http.StatusServiceUnavailable, "info.busy", nil)
		return
	}
	setCookie(w, *sess)
	http.Redirect(w, r, "/pickup", http.StatusSeeOther)
}

// session returns the request's session or answers the request itself.
func (s *Server) session(w http.ResponseWriter, r *http.Request) (session, bool) {
	sess, expired, ok := s.sessions.get(r)
	if !ok && !expired {
		sess, expired, ok = s.decoys.get(r)
	}
	if ok {
		return sess, true
	}
	clearCookie(w)
	if expired {
		s.metrics.fail(failSession)
		s.pages.info(w, r, http.StatusUnauthorized, "info.expired", nil)
		return sess, false
	}
	s.metrics.fail(failNoSession)
	s.pages.info(w, r, http.StatusUnauthorized, "info.nosession", nil)
	return sess, false
}

// form returns the session of a POST whose CSRF token matches.
func (s *Server) form(w http.ResponseWriter, r *http.Request) (session, bool) {
	sess, ok := s.session(w, r)
	if !ok {
		return sess, false
	}
	if !csrfOK(r, sess) {
		s.metrics.fail(failCSRF)
		s.pages.info(w, r, http.StatusForbidden, "info.csrf", nil)
		return sess, false
	}
	return sess, true
}

// beforeCode is the session of a page that comes before the code is
// proven; a session past it is sent on (advance) and false returned.
func (s *Server) beforeCode(w http.ResponseWriter, r *http.Request) (session, bool) {
	sess, ok := s.session(w, r)
	if ok && sess.codeOK {
		s.advance(w, r, sess)
		return sess, false
	}
	return sess, ok
}

func (s *Server) pickup(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.beforeCode(w, r)
	if !ok {
		return
	}
	v := view{Title: s.lang(r).T("start.title"), CSRF: sess.csrf, CodeMinutes: s.codeMinutes(), Script: true}
	s.pages.render(w, r, http.StatusOK, "start", v)
}

// codeView is the code page for sess: where to type the code, and what to
// do when none comes. It reads the same for a live link and a dead one.
func (s *Server) codeView(r *http.Request, sess session) view {
	return view{Title: s.lang(r).T("code.title"), CSRF: sess.csrf, CodeMinutes: s.codeMinutes(),
		NoCodeMinutes: noCodeMinutes, Script: true}
}

// codePage shows the code page again without sending a code (after a
// language switch).
func (s *Server) codePage(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.beforeCode(w, r)
	if !ok {
		return
	}
	s.pages.render(w, r, http.StatusOK, "code", s.codeView(r, sess))
}

func (s *Server) codeMinutes() int { return max(1, int(s.opts.CodeTTL.Minutes())) }

func (s *Server) codePolicy() store.CodePolicy {
	return store.CodePolicy{TTL: s.opts.CodeTTL, MaxAttempts: s.opts.MaxCodeAttempts, Lockout: s.opts.Lockout}
}

// sendCode emails a fresh code for the session's message; the page is
// the same whether or not a code was sent.
func (s *Server) sendCode(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.form(w, r)
	if !ok {
		return
	}
	s.rememberZone(r, sess)
	v := s.codeView(r, sess)
	recent, err := s.codeRecent(r.Context(), sess)
	if err != nil {
		s.storeDown(w, r, "code request")
		return
	}
	if recent {
		v.Notice = s.lang(r).T("code.recent")
		s.pages.render(w, r, http.StatusOK, "code", v)
		return
	}
	now := s.opts.Now()
	s.sessions.update(sess.id, func(p *session) {
		p.codeSent = now
		if !now.Before(p.lockedUntil) {
			p.failures, p.lockedUntil = 0, time.Time{}
		}
	})
	if err := s.requestCode(r.Context(), sess.messageID, remoteIP(r), s.lang(r)); err != nil {
		s.storeDown(w, r, "code request")
		return
	}
	s.pages.render(w, r, http.StatusOK, "code", v)
}

// codeRecent reports whether the session asked for a code less than
// ResendAfter ago. A decoy remembers it in the store's limit windows.
func (s *Server) codeRecent(ctx context.Context, sess session) (bool, error) {
	if !sess.decoy {
		return !sess.codeSent.IsZero() && s.opts.Now().Sub(sess.codeSent) < s.opts.ResendAfter, nil
	}
	ws, err := s.opts.Store.Hit(ctx, s.opts.ResendAfter, decoyKey("sent", sess.id))
	if err != nil {
		return false, err
	}
	return ws[0].Count > 1, nil
}

// requestCode counts a code request from ip and, within the client's
// limit and for a real message, issues a code in the background, so the
// answer takes as long for an unknown link as for a real one. The code
// mail is written in lang, the language the page was shown in.
func (s *Server) requestCode(ctx context.Context, id, ip string, lang *i18n.Lang) error {
	v, err := s.take(ctx, s.rates.codes, ip)
	if err != nil {
		return err
	}
	if !v.ok {
		s.metrics.fail(failClient)
		return nil
	}
	if id == "" {
		return nil
	}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		s.issueCode(ctx, id, ip, lang)
	}()
	return nil
}

func (s *Server) issueCode(ctx context.Context, id, ip string, lang *i18n.Lang) {
	code := newCode()
	err := s.opts.Store.SetCode(ctx, id, s.opts.Master.CodeHash(id, code), s.codePolicy())
	if err != nil {
		if !errors.Is(err, store.ErrLocked) && !errors.Is(err, store.ErrGone) {
			s.opts.Log.Warn("portal: storing a code failed", slog.String("message", id), slog.String("error", err.Error()))
		}
		return
	}
	m, err := s.opts.Store.Get(ctx, id)
	var cm Mail
	if err == nil {
		cm, err = s.codeMail(m.Recipient, code, lang)
	}
	if err == nil {
		err = s.opts.Sender.Send(ctx, cm)
	}
	if err != nil {
		s.metrics.fail(failSend)
		s.opts.Log.Warn("portal: sending a code failed", slog.String("message", id), slog.String("error_type", fmt.Sprintf("%T", err)))
		return
	}
	s.metrics.codes.Inc()
	s.record(ctx, store.Event{MessageID: id, Kind: store.EventCodeSent, Actor: m.Recipient, Remote: ip})
}

// newCode is 8 uniformly random decimal digits.
func newCode() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(100_000_000))
	return fmt.Sprintf("%08d", n)
}

// normalizeCode drops the spaces and dashes people type.
func normalizeCode(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
}
