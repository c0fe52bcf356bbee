// Package api is sealgate's HTTP send API, for applications that speak
// HTTP rather than SMTP. POST /v1/messages takes a JSON message (or a raw
// message/rfc822) and hands it to the same door an SMTP transaction goes
// through (smtpd.Server.Submit): the client's allowed senders, the limits,
// the policy, the spool. It answers 202 with the queue ID only once the
// message is durable. GET /v1/messages/{id} gives each recipient's state.
//
// Every request carries an API key (Authorization: Bearer sgk_…) that
// belongs to a configured client; keys are stored only as SHA-256 hashes
// (Store). Errors are JSON: {"error": {"code": …, "message": …}}. A
// request with an Idempotency-Key is answered once: a retry with the same
// key and body gets the first answer again, and no second message.
package api

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sealgate/sealgate/queue"
	"github.com/sealgate/sealgate/smtpd"
)

// Submitter is the door into the queue (smtpd.Server).
type Submitter interface {
	Submit(ctx context.Context, s smtpd.Submission) (string, error)
}

// Options configure the API server.
type Options struct {
	Listen    string
	TLS       *tls.Config // required: the API serves HTTPS only
	Store     *Store
	Submitter Submitter
	// Queued reports whether the queue holds a message with this ID
	// (a request retried after a crash between queueing and answering).
	Queued   func(id string) bool
	Hostname string
	// MaxRequestBytes bounds a request body; larger ones get 413.
	MaxRequestBytes int64
	// MaxInFlightPerAddress bounds the send requests handled at once for
	// one client address (an IPv4 address or an IPv6 /64), as
	// limits.max_connections_per_client bounds SMTP sessions; one more is
	// answered 429 concurrency_limited. 0: no bound.
	MaxInFlightPerAddress int
	Logger                *slog.Logger
}

// Server is the API's HTTPS listener.
type Server struct {
	o        Options
	log      *slog.Logger
	srv      *http.Server
	ln       net.Listener
	inflight sync.Map // client + "\x00" + Idempotency-Key of requests being handled

	mu      sync.Mutex
	perAddr map[string]int // send requests being handled, by clientKey
}

// New prepares the server; Start listens.
func New(o Options) (*Server, error) {
	if o.TLS == nil || o.Store == nil || o.Submitter == nil {
		return nil, errors.New("api: TLS, store and submitter are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxRequestBytes <= 0 {
		o.MaxRequestBytes = 32 << 20
	}
	s := &Server{o: o, log: o.Logger.With(slog.String("listener", "api")), perAddr: map[string]int{}}
	s.srv = &http.Server{Handler: s.Handler(), TLSConfig: o.TLS,
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 5 * time.Minute, WriteTimeout: 5 * time.Minute,
		IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug)}
	return s, nil
}

// Start listens on Options.Listen and serves in the background.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.o.Listen)
	if err != nil {
		return err
	}
	s.ln = ln
	go s.srv.Serve(tls.NewListener(ln, s.o.TLS))
	return nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops taking requests and waits for those in flight.
func (s *Server) Close(ctx context.Context) error { return s.srv.Shutdown(ctx) }

// only serves h for requests with method, and answers 405 with hint
// otherwise.
func only(method, hint string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method {
			w.Header().Set("Allow", method)
			writeError(w, &requestError{405, "method_not_allowed", hint})
			return
		}
		h(w, r)
	}
}

// Handler is the API's routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/messages", only(http.MethodPost, "use POST to send a message", s.send))
	mux.HandleFunc("/v1/messages/{id}", only(http.MethodGet, "use GET to read a message's status", s.status))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &requestError{404, "not_found", "no such endpoint; see docs/api.yaml"})
	})
	return mux
}

// Unavailable is the handler of the API's listener while the gateway
// stands by (its data folder read-only): nothing can be queued, so every
// request is answered 503 unavailable with why and a Retry-After, before
// its key or body is even read.
func Unavailable(why string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &requestError{503, "unavailable", why + "; try again later"})
	})
}

// client authenticates the request's API key.
func (s *Server) client(r *http.Request) (string, error) {
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || key == "" {
		return "", &requestError{401, "unauthorized", "an API key is needed: Authorization: Bearer sgk_…"}
	}
	client, _, err := s.o.Store.Client(r.Context(), strings.TrimSpace(key))
	if errors.Is(err, ErrUnknownKey) {
		return "", &requestError{401, "unauthorized", "the API key is not known or was revoked"}
	}
	if err != nil {
		s.log.Error("api key lookup failed", slog.String("error", err.Error()))
		return "", &requestError{503, "unavailable", "the key store cannot be read; try again later"}
	}
	return client, nil
}

// accepted is the 202 answer.
type accepted struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

func (s *Server) send(w http.ResponseWriter, r *http.Request) {
	release, ok := s.enter(r)
	if !ok {
		writeError(w, &requestError{429, "concurrency_limited",
			"too many requests from this address at once (limits.max_connections_per_client); retry when one has been answered"})
		return
	}
	defer release()
	client, err := s.client(r)
	if err != nil {
		writeError(w, err)
		return
	}
	body, err := s.readBody(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	env, err := s.parse(r, body)
	if err != nil {
		writeError(w, err)
		return
	}
	idemKey := r.Header.Get("Idempotency-Key")
	if idemKey == "" {
		s.submit(w, r, client, "", queue.NewID(), env)
		return
	}
	if len(idemKey) > 255 || strings.IndexFunc(idemKey, func(c rune) bool { return c < 0x21 || c > 0x7e }) >= 0 {
		writeError(w, badRequest("Idempotency-Key: 1 to 255 visible ASCII characters"))
		return
	}
	slot := client + "\x00" + idemKey
	if _, busy := s.inflight.LoadOrStore(slot, true); busy {
		writeError(w, &requestError{409, "idempotency_in_progress", "a request with this Idempotency-Key is being handled; retry later"})
		return
	}
	defer s.inflight.Delete(slot)
	h := sha256.New()
	io.WriteString(h, r.Header.Get("Content-Type")+"\x00")
	h.Write(body)
	hash := hex.EncodeToString(h.Sum(nil))
	got, found, err := s.o.Store.reserve(r.Context(), client, idemKey, hash, queue.NewID())
	switch {
	case err != nil:
		s.log.Error("idempotency store failed", slog.String("error", err.Error()))
		writeError(w, &requestError{503, "unavailable", "the request store cannot be written; try again later"})
	case found && got.BodyHash != hash:
		writeError(w, &requestError{422, "idempotency_mismatch", "this Idempotency-Key was used with a different request"})
	case found && (got.Done || s.queued(got.QueueID)):
		if !got.Done {
			s.o.Store.accepted(r.Context(), client, idemKey, got.QueueID, env.To)
		}
		w.Header().Set("Idempotent-Replayed", "true")
		writeJSON(w, http.StatusAccepted, accepted{ID: got.QueueID, Status: "queued"})
	default:
		// A new key, or one whose earlier request did not reach the
		// queue: submit under the queue ID reserved for it.
		s.submit(w, r, client, idemKey, got.QueueID, env)
	}
}

func (s *Server) queued(id string) bool { return s.o.Queued != nil && s.o.Queued(id) }

// submit hands the message to the queue's door and answers.
func (s *Server) submit(w http.ResponseWriter, r *http.Request, client, idemKey, id string, env envelope) {
	qid, err := s.o.Submitter.Submit(r.Context(), smtpd.Submission{ID: id, Client: client, Remote: remoteIP(r),
		Protocol: "HTTPS", From: env.From, To: env.To, Body: env.Body})
	if err != nil {
		if idemKey != "" {
			s.o.Store.forget(context.WithoutCancel(r.Context()), client, idemKey)
		}
		writeError(w, s.refusal(err))
		return
	}
	// The message is durable: a failure to note it here must not make the
	// client send it again, so it is logged, not answered.
	if err := s.o.Store.accepted(context.WithoutCancel(r.Context()), client, idemKey, qid, env.To); err != nil {
		s.log.Error("api: recording an accepted message failed", slog.String("queue_id", qid), slog.String("error", err.Error()))
	}
	writeJSON(w, http.StatusAccepted, accepted{ID: qid, Status: "queued"})
}

// readBody reads at most MaxRequestBytes; more is 413.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > s.o.MaxRequestBytes {
		return nil, &requestError{413, "too_large", "the request is larger than api.max_request_size"}
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.o.MaxRequestBytes))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, &requestError{413, "too_large", "the request is larger than api.max_request_size"}
	}
	if err != nil {
		return nil, badRequest("the request body could not be read")
	}
	return b, nil
}

// parse reads a JSON or message/rfc822 request into an envelope.
func (s *Server) parse(r *http.Request, body []byte) (envelope, error) {
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		ct = ""
	}
	switch ct {
	case "application/json":
		var m Message
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&m); err != nil {
			return envelope{}, badRequest("malformed JSON: %s", jsonProblem(err))
		}
		if dec.More() {
			return envelope{}, badRequest("malformed JSON: more than one value")
		}
		return compose(m, s.o.Hostname, time.Now())
	case "message/rfc822":
		q := r.URL.Query()
		return raw(body, q.Get("from"), q["to"])
	}
	return envelope{}, &requestError{415, "unsupported_media_type", "send application/json or message/rfc822"}
}

// jsonProblem says what is wrong with a JSON body without echoing it.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return "syntax error at byte " + strconv.FormatInt(se.Offset, 10)
	case errors.As(err, &te):
		return "field " + te.Field + " has the wrong type"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the body ends early"
	}
	return "cannot be read"
}

// refusal turns Submit's error into the API's answer.
func (s *Server) refusal(err error) *requestError {
	reason, code, text, ok := smtpd.Refusal(err)
	if !ok {
		s.log.Error("api: submit failed", slog.String("error", err.Error()))
		return &requestError{500, "internal", "internal error; try again later"}
	}
	switch reason {
	case "sender_denied", "header_from_denied":
		return &requestError{403, "sender_not_allowed", text}
	case "size", "header_too_big":
		return &requestError{413, "too_large", text}
	case "rate_limit":
		return &requestError{429, "rate_limited", text}
	case "policy_block", "suppressed", "too_many_recipients":
		return &requestError{422, reason, text}
	}
	if code >= 400 && code < 500 {
		return &requestError{503, reason, text}
	}
	return &requestError{422, reason, text}
}

// statusBody is the answer to GET /v1/messages/{id}.
type statusBody struct {
	ID         string            `json:"id"`
	Submitted  time.Time         `json:"submitted"`
	Recipients []RecipientStatus `json:"recipients"`
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	client, err := s.client(r)
	if err != nil {
		writeError(w, err)
		return
	}
	id := r.PathValue("id")
	rcpts, submitted, err := s.o.Store.status(r.Context(), client, id)
	if err != nil {
		s.log.Error("api: status lookup failed", slog.String("error", err.Error()))
		writeError(w, &requestError{503, "unavailable", "the status store cannot be read; try again later"})
		return
	}
	if len(rcpts) == 0 {
		// Another client's message is not found either.
		writeError(w, &requestError{404, "not_found", "no message with this ID was sent by this client through the API"})
		return
	}
	writeJSON(w, http.StatusOK, statusBody{ID: id, Submitted: submitted, Recipients: rcpts})
}

// enter counts a send request against its address's bound; release ends
// it. ok is false, and nothing counted, when the address is at its bound.
func (s *Server) enter(r *http.Request) (release func(), ok bool) {
	limit := s.o.MaxInFlightPerAddress
	if limit <= 0 {
		return func() {}, true
	}
	key := clientKey(remoteIP(r))
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.perAddr[key] >= limit {
		return nil, false
	}
	s.perAddr[key]++
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.perAddr[key]--; s.perAddr[key] <= 0 {
			delete(s.perAddr, key)
		}
	}, true
}

// clientKey is what one client address counts as: an IPv4 address, or the
// /64 of an IPv6 address (one host usually holds a whole /64).
func clientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || a.Unmap().Is4() {
		return ip
	}
	p, _ := a.Prefix(64)
	return p.String()
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// errorBody is every error answer.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, err error) {
	var re *requestError
	if !errors.As(err, &re) {
		re = &requestError{500, "internal", "internal error; try again later"}
	}
	switch re.status {
	case 401:
		w.Header().Set("WWW-Authenticate", `Bearer realm="sealgate"`)
	case 429, 503:
		w.Header().Set("Retry-After", "60")
	}
	var b errorBody
	b.Error.Code, b.Error.Message = re.code, re.message
	writeJSON(w, re.status, b)
}
