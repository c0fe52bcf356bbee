package portal

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sealgate/sealgate/store"
)

// maxReplyBytes bounds a reply with its files.
const maxReplyBytes = 25 << 20

// reply sends the recipient's answer back to the original sender through
// the gateway, which protects it like any other message.
func (s *Server) reply(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.signedIn(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxReplyBytes)
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		s.pages.info(w, r, http.StatusRequestEntityTooLarge, "info.large", &sess)
		return
	}
	defer r.MultipartForm.RemoveAll()
	if !csrfOK(r, sess) {
		s.metrics.fail(failCSRF)
		s.pages.info(w, r, http.StatusForbidden, "info.csrf", nil)
		return
	}
	m, c, ok := s.open(w, r, sess)
	if !ok {
		return
	}
	text := strings.TrimSpace(r.PostFormValue("text"))
	files, err := replyFiles(r)
	if m.Sender == "" {
		s.pages.info(w, r, http.StatusBadRequest, "info.noreply", &sess)
		return
	}
	if text == "" || err != nil {
		s.pages.info(w, r, http.StatusBadRequest, "info.empty", &sess)
		return
	}
	reply, err := s.replyMail(m, c.Subject, text, files)
	if !s.send(r, reply, err) {
		s.pages.info(w, r, http.StatusServiceUnavailable, "info.sendfail", &sess)
		return
	}
	s.metrics.replies.Inc()
	s.record(r.Context(), store.Event{MessageID: m.ID, Kind: store.EventReply, Actor: m.Recipient,
		Remote: remoteIP(r), Detail: strconv.Itoa(len(files)) + " attachments"})
	s.pages.info(w, r, http.StatusOK, "info.sent", &sess)
}

// replyFiles reads the uploaded files.
func replyFiles(r *http.Request) ([]store.Attachment, error) {
	var out []store.Attachment
	for _, fh := range r.MultipartForm.File["files"] {
		if fh.Filename == "" && fh.Size == 0 {
			continue // the empty file input
		}
		f, err := fh.Open()
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, err
		}
		name := filepath.Base(strings.ReplaceAll(fh.Filename, "\\", "/"))
		out = append(out, store.Attachment{Name: name, Type: safeType(fh.Header.Get("Content-Type")), Data: data})
	}
	return out, nil
}

// send hands m to the gateway, unless writing it failed (err), and
// reports success.
func (s *Server) send(r *http.Request, m Mail, err error) bool {
	if err == nil {
		err = s.opts.Sender.Send(r.Context(), m)
	}
	if err != nil {
		s.metrics.fail(failSend)
		// The error text may echo an address; only its type is logged.
		s.opts.Log.Warn("portal: handing mail to the gateway failed", slog.String("error_type", fmt.Sprintf("%T", err)))
		return false
	}
	return true
}
