// Package control is the operator interface of a running gateway: a small
// HTTP API on a unix socket in the data folder (mode 0600, so only the
// gateway's user and root can use it), spoken by `sealgate queue` and
// `sealgate reload`. It shows envelopes and state; it shows a body only
// for a message held by policy, only on an explicit request, and only
// after the request is in the audit log.
//
// Every request that changes something or shows content is audited with
// who made it: the connecting process's user, read from the socket's peer
// credentials (SO_PEERCRED), not from anything the client says.
package control

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/sealgate/sealgate/mail"
)

// Queue is what the control socket operates on.
type Queue interface {
	List() []mail.Info
	Show(id string) (mail.Info, error)
	Retry(id string) error
	Release(id string) error
	HeldContent(id string) ([]byte, error)
	Delete(id string) error
	Flush() int
}

// Auditor records operator actions. An action whose record cannot be
// written is not done (content is not shown).
type Auditor interface {
	Operator(action, queueID string, who Peer, result string) error
}

// Options configure a control server.
type Options struct {
	// Path is the socket's file name.
	Path  string
	Queue Queue
	// Audit records every change and every content view; required.
	Audit Auditor
	// Reload re-reads configuration, keys and certificates; nil answers
	// that reload is not available.
	Reload func() error
	// Ready says whether the gateway takes mail (nil) or why not, for
	// `sealgate health`; nil means always ready.
	Ready func() error
	// Health says whether the gateway is sound though it may take no
	// new mail, for `sealgate health` (a container's HEALTHCHECK):
	// HealthReady when it takes mail, a node state (NodeDraining,
	// NodeDrained) when it is out of service on purpose and otherwise
	// sound, or an error saying why it is not. nil falls back to Ready.
	Health func() (string, error)
	// Node takes the node out of service (`sealgate node drain`) and
	// back; nil answers 404 on the node routes.
	Node Node
}

// Server serves the control API.
type Server struct {
	srv  *http.Server
	ln   net.Listener
	opts Options
}

// Listen creates the socket at opts.Path (replacing a stale one) and
// serves.
func Listen(opts Options) (*Server, error) {
	if opts.Audit == nil {
		return nil, errors.New("control: no audit log")
	}
	os.Remove(opts.Path)
	ln, err := net.Listen("unix", opts.Path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(opts.Path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	s := &Server{ln: ln, opts: opts}
	s.srv = &http.Server{Handler: s.routes(), ReadHeaderTimeout: 10 * time.Second, ConnContext: withPeer}
	go s.srv.Serve(ln)
	return s, nil
}

func (s *Server) routes() *http.ServeMux {
	q := s.opts.Queue
	mux := http.NewServeMux()
	mux.HandleFunc("GET /queue", func(w http.ResponseWriter, r *http.Request) { reply(w, q.List(), nil) })
	mux.HandleFunc("GET /queue/{id}", func(w http.ResponseWriter, r *http.Request) {
		info, err := q.Show(r.PathValue("id"))
		reply(w, info, err)
	})
	mux.HandleFunc("GET /queue/{id}/content", s.content)
	mux.HandleFunc("POST /queue/{id}/retry", s.action("retry", q.Retry))
	mux.HandleFunc("POST /queue/{id}/release", s.action("release", q.Release))
	mux.HandleFunc("DELETE /queue/{id}", s.action("delete", q.Delete))
	mux.HandleFunc("POST /queue/flush", func(w http.ResponseWriter, r *http.Request) {
		if !s.requested(w, r, "flush", "") {
			return
		}
		n := q.Flush()
		s.opts.Audit.Operator("flush", "", peerOf(r), "ok")
		reply(w, map[string]int{"flushed": n}, nil)
	})
	mux.HandleFunc("POST /reload", s.reload)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.HandleFunc("GET /health", s.health)
	s.nodeRoutes(mux)
	return mux
}

// requested records that an operator asked for an action before it is
// carried out; when the record cannot be written the action is refused
// (503) and false returned: nothing an operator does goes unrecorded.
func (s *Server) requested(w http.ResponseWriter, r *http.Request, name, id string) bool {
	if err := s.opts.Audit.Operator(name, id, peerOf(r), "requested"); err != nil {
		reply(w, nil, errNotAudited)
		return false
	}
	return true
}

// action runs an operation on one message, recorded in the audit log
// before (refused if that fails) and with its result after.
func (s *Server) action(name string, op func(id string) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if !s.requested(w, r, name, id) {
			return
		}
		err := op(id)
		s.opts.Audit.Operator(name, id, peerOf(r), resultOf(err))
		reply(w, map[string]string{"id": id, "done": name}, err)
	}
}

// content serves a held message's bytes, after auditing the request; a
// request that cannot be recorded is refused.
func (s *Server) content(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := s.opts.Queue.Show(id); err != nil {
		reply(w, nil, err)
		return
	}
	if err := s.opts.Audit.Operator("show-content", id, peerOf(r), "requested"); err != nil {
		reply(w, nil, errNotAudited)
		return
	}
	body, err := s.opts.Queue.HeldContent(id)
	if err != nil {
		reply(w, nil, err)
		return
	}
	w.Header().Set("Content-Type", "message/rfc822")
	w.Write(body)
}

func (s *Server) reload(w http.ResponseWriter, r *http.Request) {
	if s.opts.Reload == nil {
		reply(w, nil, errors.New("reload is not available"))
		return
	}
	if !s.requested(w, r, "reload", "") {
		return
	}
	err := s.opts.Reload()
	s.opts.Audit.Operator("reload", "", peerOf(r), resultOf(err))
	if err != nil {
		// The reason is the operator's own config: file, line, key.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
		return
	}
	reply(w, map[string]string{"reloaded": "ok"}, nil)
}

// readyz answers 200 when the gateway takes mail, 503 with the reason
// otherwise (starting, shutting down, spool disk full or read-only).
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	var err error
	if s.opts.Ready != nil {
		err = s.opts.Ready()
	}
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		json.NewEncoder(w).Encode(map[string]string{"error": "not ready: " + err.Error()})
		return
	}
	json.NewEncoder(w).Encode(map[string]string{"ready": "ok"})
}

// HealthReady is the health of a gateway that takes mail.
const HealthReady = "ready"

// health answers 200 with the gateway's health (ready, draining,
// drained), 503 with the reason when it is not sound. Unlike /readyz, a
// node taken out of service on purpose is healthy: an orchestrator must
// not kill it while it hands its spool over.
func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	state, err := HealthReady, error(nil)
	switch {
	case s.opts.Health != nil:
		state, err = s.opts.Health()
	case s.opts.Ready != nil:
		err = s.opts.Ready()
	}
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		json.NewEncoder(w).Encode(map[string]string{"error": "not healthy: " + err.Error()})
		return
	}
	json.NewEncoder(w).Encode(map[string]string{"health": state})
}

var errNotAudited = errors.New("the audit record could not be written")

func resultOf(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, mail.ErrNoSuchMessage):
		return "no such message"
	case errors.Is(err, mail.ErrNotHeld):
		return "not held"
	}
	return "failed"
}

func reply(w http.ResponseWriter, v any, err error) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case errors.Is(err, mail.ErrNoSuchMessage):
		w.WriteHeader(http.StatusNotFound)
		v = map[string]string{"error": "no such message"}
	case errors.Is(err, mail.ErrNotHeld):
		w.WriteHeader(http.StatusConflict)
		v = map[string]string{"error": "not held by policy"}
	case errors.Is(err, errNotAudited):
		w.WriteHeader(http.StatusServiceUnavailable)
		v = map[string]string{"error": errNotAudited.Error()}
	case err != nil:
		w.WriteHeader(http.StatusInternalServerError)
		v = map[string]string{"error": "operation failed"}
	}
	json.NewEncoder(w).Encode(v)
}

// Close stops serving and removes the socket.
func (s *Server) Close(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	os.Remove(s.ln.Addr().String())
	return err
}
