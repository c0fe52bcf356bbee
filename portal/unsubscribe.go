package portal

import (
	"context"
	"log/slog"
	"net/http"
)

// Unsubscriber serves one-click unsubscribe links (RFC 8058) on the
// portal's listener: Open checks a link's token and names the sending
// domain and the address; Unsubscribe suppresses the address for that
// domain and audits it (remote is the client's IP), returning an error
// when either could not be done.
type Unsubscriber interface {
	Open(token string) (domain, address string, err error)
	Unsubscribe(ctx context.Context, domain, address, remote string) error
}

// unsubscribeView is what the unsubscribe page shows.
type unsubscribeView struct {
	Address, Domain string
	Done            bool
}

// unsubscribePage answers GET /u/{token}: a page that names the address
// and the sender and has one button, which POSTs to the same URL. A GET
// changes nothing (mail scanners follow links).
func (s *Server) unsubscribePage(w http.ResponseWriter, r *http.Request) {
	domain, address, ok := s.openUnsubscribe(w, r)
	if !ok {
		return
	}
	l := s.lang(r)
	s.pages.render(w, r, http.StatusOK, "unsubscribe", view{Title: l.T("unsub.title"),
		Unsubscribe: &unsubscribeView{Address: address, Domain: domain}})
}

// unsubscribe answers POST /u/{token}, from a mailbox provider's
// one-click request (body List-Unsubscribe=One-Click) or the page's
// button: the address is suppressed for the sending domain, audited.
func (s *Server) unsubscribe(w http.ResponseWriter, r *http.Request) {
	domain, address, ok := s.openUnsubscribe(w, r)
	if !ok {
		return
	}
	if err := s.opts.Unsubscribe.Unsubscribe(r.Context(), domain, address, remoteIP(r)); err != nil {
		s.opts.Log.Error("portal: unsubscribe not recorded", slog.String("error", err.Error()))
		s.pages.info(w, r, http.StatusServiceUnavailable, "info.error", nil)
		return
	}
	l := s.lang(r)
	s.pages.render(w, r, http.StatusOK, "unsubscribe", view{Title: l.T("unsub.done.title"),
		Unsubscribe: &unsubscribeView{Address: address, Domain: domain, Done: true}})
}

// openUnsubscribe checks the token of the request, answering 404 itself
// when there is no unsubscriber or the token does not verify.
func (s *Server) openUnsubscribe(w http.ResponseWriter, r *http.Request) (string, string, bool) {
	if s.opts.Unsubscribe == nil {
		s.notFound(w, r)
		return "", "", false
	}
	domain, address, err := s.opts.Unsubscribe.Open(r.PathValue("token"))
	if err != nil {
		s.pages.info(w, r, http.StatusNotFound, "info.unsubbad", nil)
		return "", "", false
	}
	return domain, address, true
}
