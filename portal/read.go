package portal

import (
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"mime"
	"net/http"
	"strconv"

	"github.com/sealgate/sealgate/portal/sanitize"
	"github.com/sealgate/sealgate/store"
)

// messageView is a message as the page shows it.
type messageView struct {
	Sender, Subject, Expires string
	HTML                     template.HTML // sanitised
	Text                     string
	Attachments              []attachmentView
	CanReply                 bool // there is a sender to reply to
}

type attachmentView struct {
	Index            int
	Name, Type, Size string
}

// signedIn returns the session of a recipient who entered the code.
func (s *Server) signedIn(w http.ResponseWriter, r *http.Request) (session, bool) {
	sess, ok := s.session(w, r)
	if ok && !sess.authed {
		s.metrics.fail(failNoSession)
		http.Redirect(w, r, "/pickup", http.StatusSeeOther)
		return sess, false
	}
	return sess, ok
}

// open loads the signed-in session's message, or shows why it cannot.
func (s *Server) open(w http.ResponseWriter, r *http.Request, sess session) (store.Meta, store.Content, bool) {
	m, err := s.opts.Store.Get(r.Context(), sess.messageID)
	var c store.Content
	if err == nil {
		c, err = s.opts.Store.Open(r.Context(), sess.messageID)
	}
	if err == nil {
		return m, c, true
	}
	if errors.Is(err, store.ErrGone) || errors.Is(err, store.ErrNotFound) {
		s.metrics.fail(failUnavailable)
		s.pages.info(w, r, http.StatusGone, "info.gone", &sess, s.opts.Branding.Organization)
		return m, c, false
	}
	s.opts.Log.Error("portal: opening a message failed", slog.String("message", sess.messageID), slog.String("error", err.Error()))
	s.pages.info(w, r, http.StatusInternalServerError, "info.error", &sess)
	return m, c, false
}

// signedInMessage is signedIn and then open: the message of the recipient
// who entered the code, or false once the answer is written.
func (s *Server) signedInMessage(w http.ResponseWriter, r *http.Request) (session, store.Meta, store.Content, bool) {
	sess, ok := s.signedIn(w, r)
	if !ok {
		return sess, store.Meta{}, store.Content{}, false
	}
	m, c, ok := s.open(w, r, sess)
	return sess, m, c, ok
}

func (s *Server) showMessage(w http.ResponseWriter, r *http.Request) {
	sess, m, c, ok := s.signedInMessage(w, r)
	if !ok {
		return
	}
	if !s.auditFirst(w, r, sess, store.Event{MessageID: m.ID, Kind: store.EventView, Actor: m.Recipient, Remote: remoteIP(r)}) {
		return
	}
	l := s.lang(r)
	v := view{Title: l.T("message.title"), CSRF: sess.csrf, SignedIn: true, Message: s.messageView(m, c, l.Time(m.Expires, s.location(sess)))}
	s.pages.render(w, r, http.StatusOK, "message", v)
	s.metrics.views.Inc()
	s.opts.Store.CountView(r.Context(), m.ID)
	if m.Views == 0 && s.opts.ReadReceipts {
		receipt, err := s.receiptMail(m, s.opts.Now())
		s.send(r, receipt, err)
	}
}

// messageView is the page's view of m and c; expires is the expiry as
// the reader should see it.
func (s *Server) messageView(m store.Meta, c store.Content, expires string) *messageView {
	v := &messageView{Sender: m.Sender, Subject: c.Subject, Expires: expires, CanReply: m.Sender != ""}
	if c.HTML != "" {
		v.HTML = template.HTML(sanitize.HTML(c.HTML))
	} else {
		v.Text = c.Text
	}
	for i, a := range c.Attachments {
		v.Attachments = append(v.Attachments, attachmentView{Index: i, Name: a.Name, Type: safeType(a.Type), Size: humanSize(len(a.Data))})
	}
	return v
}

func humanSize(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// safeType keeps a well-formed MIME type and turns anything else into
// application/octet-stream.
func safeType(t string) string {
	mt, params, err := mime.ParseMediaType(t)
	if err != nil {
		return "application/octet-stream"
	}
	return mime.FormatMediaType(mt, params)
}

// attachmentDisposition is always an attachment, even when the name
// cannot be encoded (then it is replaced).
func attachmentDisposition(name string) string {
	if d := mime.FormatMediaType("attachment", map[string]string{"filename": name}); d != "" {
		return d
	}
	return `attachment; filename="attachment"`
}

// download sends one attachment with its real name and type, always as a
// download, never rendered in the portal's origin.
func (s *Server) download(w http.ResponseWriter, r *http.Request) {
	sess, m, c, ok := s.signedInMessage(w, r)
	if !ok {
		return
	}
	i, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || i < 0 || i >= len(c.Attachments) {
		s.notFound(w, r)
		return
	}
	ev := store.Event{MessageID: m.ID, Kind: store.EventDownload, Actor: m.Recipient,
		Remote: remoteIP(r), Detail: "attachment " + strconv.Itoa(i)}
	if !s.auditFirst(w, r, sess, ev) {
		return
	}
	a := c.Attachments[i]
	h := w.Header()
	h.Set("Content-Type", safeType(a.Type))
	h.Set("Content-Disposition", attachmentDisposition(a.Name))
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Content-Length", strconv.Itoa(len(a.Data)))
	w.Write(a.Data)
	s.metrics.downloads.Inc()
}

// auditFirst writes the audit record of a view or download before any of
// the content is served. When it cannot be written the content is refused
// (503): nothing is shown that the audit trail does not know of.
func (s *Server) auditFirst(w http.ResponseWriter, r *http.Request, sess session, e store.Event) bool {
	if e.At.IsZero() {
		e.At = s.opts.Now()
	}
	if err := s.opts.Store.Record(r.Context(), e); err != nil {
		s.metrics.fail(failAudit)
		s.opts.Log.Error("portal: audit record not written, content refused", slog.String("message", e.MessageID),
			slog.String("kind", e.Kind), slog.String("error_type", fmt.Sprintf("%T", err)))
		s.pages.info(w, r, http.StatusServiceUnavailable, "info.audit", &sess)
		return false
	}
	if s.opts.OnEvent != nil {
		s.opts.OnEvent(e)
	}
	return true
}
