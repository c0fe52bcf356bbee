// Package control is the operator interface of a running gateway: a small
// HTTP API on a unix socket in the data folder (mode 0600, so only the
// gateway's user and root can use it), spoken by `sealgate queue`.
// It shows envelopes and state, never message bodies.
package control

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/sealgate/sealgate/queue"
)

// Queue is what the control socket operates on.
type Queue interface {
	List() []queue.Info
	Show(id string) (queue.Info, error)
	Retry(id string) error
	Delete(id string) error
	Flush() int
}

// Server serves the control API.
type Server struct {
	srv *http.Server
	ln  net.Listener
}

// Listen creates the socket at path (replacing a stale one) and serves.
func Listen(path string, q Queue) (*Server, error) {
	os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /queue", func(w http.ResponseWriter, r *http.Request) { reply(w, q.List(), nil) })
	mux.HandleFunc("GET /queue/{id}", func(w http.ResponseWriter, r *http.Request) {
		info, err := q.Show(r.PathValue("id"))
		reply(w, info, err)
	})
	mux.HandleFunc("POST /queue/{id}/retry", func(w http.ResponseWriter, r *http.Request) {
		reply(w, map[string]string{"retried": r.PathValue("id")}, q.Retry(r.PathValue("id")))
	})
	mux.HandleFunc("DELETE /queue/{id}", func(w http.ResponseWriter, r *http.Request) {
		reply(w, map[string]string{"deleted": r.PathValue("id")}, q.Delete(r.PathValue("id")))
	})
	mux.HandleFunc("POST /queue/flush", func(w http.ResponseWriter, r *http.Request) {
		reply(w, map[string]int{"flushed": q.Flush()}, nil)
	})
	s := &Server{ln: ln, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}
	go s.srv.Serve(ln)
	return s, nil
}

func reply(w http.ResponseWriter, v any, err error) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case errors.Is(err, queue.ErrNotFound):
		w.WriteHeader(http.StatusNotFound)
		v = map[string]string{"error": "no such message"}
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
