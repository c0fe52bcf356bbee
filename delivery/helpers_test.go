package delivery

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/mail"
)

const testBody = "From: a@clinic.test\r\nTo: b@partner.test\r\nSubject: hello\r\n\r\nbody line\r\n.leading dot\r\n"

// newTestClient makes a Client closed at the end of the test.
func newTestClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	if cfg.Hostname == "" {
		cfg.Hostname = "gw.clinic.test"
	}
	if cfg.CommandTimeout == 0 {
		cfg.CommandTimeout = 10 * time.Second
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// routeTo routes partner.test to the sink.
func routeTo(s *smtpsink.Sink) map[string]string {
	return map[string]string{"partner.test": s.Addr}
}

// newDelivery is a delivery from a@clinic.test to rcpts at partner.test.
func newDelivery(rcpts ...string) *mail.Delivery {
	d := &mail.Delivery{QueueID: "q1", From: "a@clinic.test", Domain: "partner.test", Body: []byte(testBody)}
	for _, r := range rcpts {
		d.Rcpts = append(d.Rcpts, mail.Rcpt{Addr: r})
	}
	return d
}

func deliver(t *testing.T, c *Client, d *mail.Delivery) []mail.Outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out := c.Deliver(ctx, d)
	if len(out) != len(d.Rcpts) {
		t.Fatalf("got %d outcomes for %d recipients", len(out), len(d.Rcpts))
	}
	return out
}

// wantOK fails unless every outcome succeeded.
func wantOK(t *testing.T, out []mail.Outcome) {
	t.Helper()
	for _, o := range out {
		if o.Err != nil {
			t.Errorf("%s: unexpected failure: %v", o.Rcpt, o.Err)
		}
	}
}

// wantFail fails unless o failed with the given permanence and enhanced
// code ("" = any), and returns the *Error.
func wantFail(t *testing.T, o mail.Outcome, permanent bool, enhanced string) *Error {
	t.Helper()
	var e *Error
	if !errors.As(o.Err, &e) {
		t.Fatalf("%s: want *Error, got %v", o.Rcpt, o.Err)
	}
	if o.Permanent != permanent || e.Permanent != permanent || e.Temporary() == permanent {
		t.Errorf("%s: permanent=%v, want %v (%v)", o.Rcpt, o.Permanent, permanent, e)
	}
	if enhanced != "" && o.Enhanced != enhanced {
		t.Errorf("%s: enhanced %q, want %q (%v)", o.Rcpt, o.Enhanced, enhanced, e)
	}
	return e
}

// fakeResolver answers from maps; a missing name is "not found".
type fakeResolver struct {
	mu      sync.Mutex
	mx      map[string][]*net.MX
	mxErr   map[string]error
	hosts   map[string][]string
	hostErr map[string]error
	lookups int
}

func (r *fakeResolver) LookupMX(_ context.Context, name string) ([]*net.MX, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lookups++
	if err := r.mxErr[name]; err != nil {
		return nil, err
	}
	if mx, ok := r.mx[name]; ok {
		return mx, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (r *fakeResolver) LookupHost(_ context.Context, name string) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lookups++
	if err := r.hostErr[name]; err != nil {
		return nil, err
	}
	if h, ok := r.hosts[name]; ok {
		return h, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

// sinkPort is the port of a sink's address.
func sinkPort(t *testing.T, s *smtpsink.Sink) string {
	t.Helper()
	_, port, err := net.SplitHostPort(s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// rcptsOf lists the recipients of all messages a sink received.
func rcptsOf(s *smtpsink.Sink) string {
	var all []string
	for _, m := range s.Messages() {
		all = append(all, m.Rcpts...)
	}
	return strings.Join(all, ",")
}

func itoa(n int) string { return strconv.Itoa(n) }
