package portal

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/sealgate/sealgate/store"
)

// rate is one limit on what a client may ask of the portal: at most
// perClient events from one address and perNetwork from its network (IPv4
// /24, IPv6 /64) in each window. The counts live in the store, so every
// node sharing one PostgreSQL enforces the same budget.
type rate struct {
	name       string // key prefix; says what is counted
	perClient  int
	perNetwork int
	window     time.Duration
}

// networkFactor is how many clients' worth a network may use.
const networkFactor = 5

// rates are the portal's limits.
type rates struct {
	requests rate // any request, per minute
	links    rate // link opens, real or made up
	failures rate // failed codes, passwords and authenticator codes
	codes    rate // code requests
}

func newRates(o Options) rates {
	mk := func(name string, n int, window time.Duration) rate {
		return rate{name: name, perClient: n, perNetwork: n * networkFactor, window: window}
	}
	return rates{
		requests: mk("req", o.MaxRequestsPerClient, time.Minute),
		links:    mk("link", o.MaxLinksPerClient, o.Lockout),
		failures: mk("fail", o.MaxFailuresPerClient, o.Lockout),
		codes:    mk("code", o.MaxCodesPerClient, o.Lockout),
	}
}

// limitVerdict is the outcome of a limit check: ok, or blocked until
// retry has passed.
type limitVerdict struct {
	ok    bool
	retry time.Duration
}

// clientNets returns the client's address and the network it is counted
// with: the /24 of an IPv4 address, the /64 of an IPv6 one.
func clientNets(ip string) (addr, network string) {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip, ip
	}
	a = a.Unmap()
	bits := 24
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return a.String(), p.String()
}

// keys are the store keys of ip under r.
func (r rate) keys(ip string) []string {
	addr, network := clientNets(ip)
	return []string{r.name + ":ip:" + addr, r.name + ":net:" + network}
}

// take counts one event from ip under r and says whether the client is
// still within the limit, this event included.
func (s *Server) take(ctx context.Context, r rate, ip string) (limitVerdict, error) {
	ws, err := s.opts.Store.Hit(ctx, r.window, r.keys(ip)...)
	if err != nil {
		return limitVerdict{}, err
	}
	return s.judge(r, ws), nil
}

// over says, without counting, whether ip has used up its budget under r.
func (s *Server) over(ctx context.Context, r rate, ip string) (limitVerdict, error) {
	ws, err := s.opts.Store.Peek(ctx, r.keys(ip)...)
	if err != nil {
		return limitVerdict{}, err
	}
	// A budget is used up when the next event would pass it.
	for i := range ws {
		ws[i].Count++
	}
	return s.judge(r, ws), nil
}

func (s *Server) judge(r rate, ws []store.Window) limitVerdict {
	v := limitVerdict{ok: true}
	for _, w := range ws {
		limit := r.perNetwork
		if strings.HasPrefix(w.Key, r.name+":ip:") {
			limit = r.perClient
		}
		if w.Count > limit {
			v.ok = false
			v.retry = max(v.retry, w.Reset.Sub(s.opts.Now()))
		}
	}
	return v
}

// allow counts r against the client's limit lim and reports whether it
// may go on; when it may not, the answer (store down, too many) is sent.
func (s *Server) allow(w http.ResponseWriter, r *http.Request, lim rate) bool {
	v, err := s.take(r.Context(), lim, remoteIP(r))
	if err != nil {
		s.storeDown(w, r, "rate limit")
		return false
	}
	if !v.ok {
		s.tooMany(w, r, v)
		return false
	}
	return true
}

// limitRequests applies the per-client request limit to every request.
// When the store cannot count, the request is refused: a limit that
// cannot be checked is not skipped.
func (s *Server) limitRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.allow(w, r, s.rates.requests) {
			next.ServeHTTP(w, r)
		}
	})
}

// tooMany answers 429 with Retry-After in whole seconds.
func (s *Server) tooMany(w http.ResponseWriter, r *http.Request, v limitVerdict) {
	s.metrics.fail(failLimited)
	secs := int((v.retry + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	s.pages.info(w, r, http.StatusTooManyRequests, "info.limited", nil)
}

// storeDown answers 503 when the store cannot do what the request needs.
func (s *Server) storeDown(w http.ResponseWriter, r *http.Request, what string) {
	s.metrics.fail(failStore)
	s.opts.Log.Warn("portal: store unavailable", slog.String("step", what))
	s.pages.info(w, r, http.StatusServiceUnavailable, "info.down", nil)
}
