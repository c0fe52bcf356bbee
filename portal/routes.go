package portal

import (
	"log/slog"
	"net"
	"net/http"
)

// csp allows nothing but this site's own styles, images and form targets;
// the start and code pages add this site's one script (see pages.render).
const csp = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'"

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /m/{token}", s.openLink) // the link in encrypt's notification
	mux.HandleFunc("GET /p/{token}", s.openLink)
	mux.HandleFunc("GET /pickup", s.pickup)
	mux.HandleFunc("POST /code/send", s.sendCode)
	mux.HandleFunc("POST /code/verify", s.verifyCode)
	mux.HandleFunc("GET /verify", s.verifyPage)
	mux.HandleFunc("GET /code", s.codePage)
	mux.HandleFunc("POST /password", s.password)
	mux.HandleFunc("POST /totp", s.totp)
	mux.HandleFunc("GET /message", s.showMessage)
	mux.HandleFunc("GET /attachment/{n}", s.download)
	mux.HandleFunc("POST /reply", s.reply)
	mux.HandleFunc("POST /logout", s.logout)
	mux.HandleFunc("GET /u/{token}", s.unsubscribePage) // List-Unsubscribe of marketing mail
	mux.HandleFunc("POST /u/{token}", s.unsubscribe)
	mux.HandleFunc("GET /static/{name}", s.pages.static)
	mux.HandleFunc("GET /{$}", s.home)
	mux.HandleFunc("/", s.notFound)
	return s.guard(s.limitRequests(s.switchLang(mux)))
}

// guard sets the security headers on every response and turns a panic
// into a plain 500 without internal text.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("Cache-Control", "no-store")
		h.Set("Pragma", "no-cache")
		h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		defer func() {
			if v := recover(); v != nil && v != http.ErrAbortHandler {
				// The route pattern, never the path: a path holds a link token.
				s.opts.Log.Error("portal: panic in handler", slog.String("route", routeOf(r)))
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// routeOf is the pattern the mux matched (set on r by ServeMux), from the
// fixed set in routes, or "unmatched".
func routeOf(r *http.Request) string {
	if r.Pattern == "" {
		return "unmatched"
	}
	return r.Pattern
}

// remoteIP is the client's address for the audit log.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	s.pages.info(w, r, http.StatusOK, "info.home", nil)
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.pages.info(w, r, http.StatusNotFound, "info.notfound", nil)
}
