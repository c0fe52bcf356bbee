package portal

import (
	"net/http"
	"strings"
	"time"
	_ "time/tzdata" // patients' zones resolve even where the host has no zoneinfo

	"github.com/sealgate/sealgate/internal/i18n"
)

// langCookie remembers a language the visitor chose on the page. It holds
// only a language code ("es"), the same for everyone who chose it, so it
// identifies nobody; without it the browser's Accept-Language decides.
const langCookie = "__Host-sealgate-lang"

// langTTL is how long a chosen language is remembered.
const langTTL = 365 * 24 * time.Hour

// noCodeMinutes is when the code page tells a patient still waiting for a
// code what may have happened and whom to call.
const noCodeMinutes = 5

// lang is the visitor's language: the one chosen on the page, else the
// best match for Accept-Language, else the configured default.
func (s *Server) lang(r *http.Request) *i18n.Lang {
	if c, err := r.Cookie(langCookie); err == nil && i18n.Supported(c.Value) {
		return i18n.Get(c.Value)
	}
	return i18n.Match(r.Header.Get("Accept-Language"), s.opts.Language)
}

// switchLang serves a language switch: GET any page with ?lang=CODE
// remembers CODE and reloads the page without the query.
func (s *Server) switchLang(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code := r.URL.Query().Get("lang")
		if r.Method != http.MethodGet || code == "" {
			next.ServeHTTP(w, r)
			return
		}
		if i18n.Supported(code) {
			http.SetCookie(w, &http.Cookie{Name: langCookie, Value: code, Path: "/", MaxAge: int(langTTL.Seconds()),
				Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
		}
		http.Redirect(w, r, samePath(r.URL.EscapedPath()), http.StatusSeeOther)
	})
}

// samePath is p when it is a path on this site, else "/": "//evil.example/x" or
// "/\evil.example" would send the browser to another host.
func samePath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") || strings.Contains(p, "\\") {
		return "/"
	}
	return p
}

// here is the page a language switch reloads: the page itself when it
// can be fetched again with GET, else the page a POST led from. Only
// fixed paths, so no visitor-supplied path is ever written into a link.
func here(r *http.Request) string {
	switch r.URL.Path {
	case "/pickup", "/message", "/verify", "/code":
		if r.Method == http.MethodGet {
			return r.URL.Path
		}
	case "/code/send", "/code/verify":
		return "/code"
	case "/password", "/totp":
		return "/verify"
	case "/reply":
		return "/message"
	}
	return "/"
}

// validZone reports whether name is an IANA time zone this build knows,
// such as "America/Chicago" (what a browser reports).
func validZone(name string) bool {
	if name == "" || len(name) > 64 || strings.HasPrefix(name, "/") || strings.Contains(name, "..") || name == "Local" {
		return false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("/_+-", c)) {
			return false
		}
	}
	_, err := time.LoadLocation(name)
	return err == nil
}

// rememberZone keeps the browser's time zone from a form in the session,
// so the message page shows times in it. A decoy keeps nothing.
func (s *Server) rememberZone(r *http.Request, sess session) {
	if tz := r.PostFormValue("tz"); !sess.decoy && tz != sess.tz && validZone(tz) {
		s.sessions.update(sess.id, func(p *session) { p.tz = tz })
	}
}

// location is where the session's times are shown: the browser's zone
// when it told us, else the configured one (UTC by default).
func (s *Server) location(sess session) *time.Location {
	if sess.tz != "" {
		if loc, err := time.LoadLocation(sess.tz); err == nil {
			return loc
		}
	}
	return s.opts.TimeZone
}
