package main

import (
	"bytes"
	"io"
	"log"
	"math"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// sink is the loopback receiver. It counts deliveries per Message-ID and
// keeps nothing else.
type sink struct {
	addr       string
	srv        *smtp.Server
	deferShare atomic.Uint64 // math.Float64bits of the share of RCPTs deferred
	slowShare  float64

	mu  sync.Mutex
	got map[string]int
}

func startSink(deferShare, slowShare float64) (*sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &sink{addr: ln.Addr().String(), slowShare: slowShare, got: map[string]int{}}
	s.deferShare.Store(math.Float64bits(deferShare))
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s}, nil }))
	s.srv.Domain = "sink.test"
	s.srv.ReadTimeout, s.srv.WriteTimeout = 30*time.Second, 30*time.Second
	s.srv.MaxMessageBytes = 64 << 20
	s.srv.ErrorLog = log.New(io.Discard, "", 0)
	go s.srv.Serve(ln)
	return s, nil
}

func (s *sink) close() { s.srv.Close() }

// counts returns a copy of the deliveries per Message-ID.
func (s *sink) counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.got))
	for k, v := range s.got {
		out[k] = v
	}
	return out
}

// missing is the number of accepted messages not delivered yet.
func (s *sink) missing(l *load) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, id := range l.ackedIDs() {
		if s.got[id] == 0 {
			n++
		}
	}
	return n
}

// sinkSession is one connection to the sink.
type sinkSession struct{ s *sink }

var errDeferred = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 4, 5}, Message: "try later"}

func (ss *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }

func (ss *sinkSession) Rcpt(string, *smtp.RcptOptions) error {
	if rand.Float64() < math.Float64frombits(ss.s.deferShare.Load()) {
		return errDeferred
	}
	return nil
}

func (ss *sinkSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if rand.Float64() < ss.s.slowShare {
		time.Sleep(200 * time.Millisecond) // a kill may land now
	}
	id := messageID(data)
	ss.s.mu.Lock()
	ss.s.got[id]++
	ss.s.mu.Unlock()
	return nil
}

func (ss *sinkSession) Reset()        {}
func (ss *sinkSession) Logout() error { return nil }

// messageID returns the Message-ID of a message, without the angle
// brackets, or "" when the header part has none.
func messageID(data []byte) string {
	for _, line := range bytes.Split(data, []byte("\r\n")) {
		if len(line) == 0 {
			break
		}
		if v, ok := bytes.CutPrefix(line, []byte("Message-ID: <")); ok {
			return string(bytes.TrimSuffix(v, []byte(">")))
		}
	}
	return ""
}
