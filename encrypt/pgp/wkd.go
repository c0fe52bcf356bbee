package pgp

import (
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	address "github.com/sealgate/sealgate/addr"
	"github.com/sealgate/sealgate/encrypt/mimeutil"
)

// ErrNotFound means no usable key was published for the address.
var ErrNotFound = errors.New("pgp: no usable key published")

// maxWKDResponse bounds the size of a WKD answer.
const maxWKDResponse = 256 << 10

// WKDConfig configures a WKDClient. Zero values get the documented defaults.
type WKDConfig struct {
	// Client makes the HTTPS requests; it should have a timeout and verify
	// certificates. Default: a client with a 10 s timeout.
	Client *http.Client
	// TTL is how long a found key is cached. Default 1 h.
	TTL time.Duration
	// NegativeTTL is how long a miss or a failure is cached. Default 15 min.
	NegativeTTL time.Duration
	// MaxEntries bounds the cache; when full, expired entries are dropped
	// and then, if still full, the result is not cached. Default 10000.
	MaxEntries int
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Log receives debug lines without addresses. Default: discarded.
	Log *slog.Logger
}

// WKDClient finds recipients' keys in the OpenPGP Web Key Directory
// (draft-koch-openpgp-webkey-service), advanced method first, then direct,
// and caches answers, misses included, with an expiry. It is safe for
// concurrent use.
type WKDClient struct {
	cfg WKDConfig

	mu    sync.Mutex
	cache map[string]wkdEntry
}

type wkdEntry struct {
	entity  *openpgp.Entity
	err     error
	expires time.Time
}

// NewWKDClient returns a client with cfg's defaults filled in.
func NewWKDClient(cfg WKDConfig) *WKDClient {
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.TTL <= 0 {
		cfg.TTL = time.Hour
	}
	if cfg.NegativeTTL <= 0 {
		cfg.NegativeTTL = 15 * time.Minute
	}
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = 10000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &WKDClient{cfg: cfg, cache: make(map[string]wkdEntry)}
}

// Lookup returns a key for addr that is valid for encryption now. It returns
// ErrNotFound (possibly wrapped) when no usable key is published; errors
// never contain the address.
func (c *WKDClient) Lookup(ctx context.Context, addr string) (*openpgp.Entity, error) {
	norm, ok := mimeutil.NormalizeAddr(addr)
	if !ok || !publicDomain(norm[strings.LastIndexByte(norm, '@')+1:]) {
		return nil, ErrNotFound
	}
	now := c.cfg.Now()
	if e, ok := c.cached(norm, now); ok {
		return e.entity, e.err
	}
	ent, err := c.fetch(ctx, norm, now)
	ttl := c.cfg.TTL
	if err != nil {
		ttl = c.cfg.NegativeTTL
	}
	c.store(norm, wkdEntry{entity: ent, err: err, expires: now.Add(ttl)})
	return ent, err
}

// CacheLen returns the number of cached answers, for a gauge.
func (c *WKDClient) CacheLen() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.cache)
}

func (c *WKDClient) cached(addr string, now time.Time) (wkdEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.cache[addr]
	if ok && now.Before(e.expires) {
		return e, true
	}
	delete(c.cache, addr)
	return wkdEntry{}, false
}

func (c *WKDClient) store(addr string, e wkdEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.cache) >= c.cfg.MaxEntries {
		now := c.cfg.Now()
		for k, old := range c.cache {
			if !now.Before(old.expires) {
				delete(c.cache, k)
			}
		}
	}
	if len(c.cache) < c.cfg.MaxEntries {
		c.cache[addr] = e
	}
}

// fetch tries the advanced, then the direct method.
func (c *WKDClient) fetch(ctx context.Context, addr string, now time.Time) (*openpgp.Entity, error) {
	urls := WKDURLs(addr)
	var errs []error
	for i, u := range urls {
		method := [...]string{"advanced", "direct"}[i]
		ent, err := c.fetchOne(ctx, u, addr, now)
		if err == nil {
			c.cfg.Log.Debug("wkd key found", slog.String("method", method))
			return ent, nil
		}
		c.cfg.Log.Debug("wkd lookup failed", slog.String("method", method), slog.String("error", err.Error()))
		errs = append(errs, fmt.Errorf("%s: %w", method, err))
	}
	return nil, fmt.Errorf("pgp: wkd: %w", errors.Join(errs...))
}

// fetchOne fetches one URL and picks the key for addr from the answer.
func (c *WKDClient) fetchOne(ctx context.Context, u, addr string, now time.Time) (*openpgp.Entity, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, errors.New("bad request URL")
	}
	resp, err := c.cfg.Client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL names the local part: leave it out
		}
		return nil, fmt.Errorf("request failed: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, ErrNotFound
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP status %d", resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxWKDResponse+1))
	if err != nil || len(data) > maxWKDResponse {
		return nil, errors.New("response unreadable or too large")
	}
	list, err := ParseKeys(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	list = c.strongOnly(list, req.URL.Host, now)
	if e, ok := pickEntity(list, addr, now); ok {
		return e, nil
	}
	return nil, ErrNotFound
}

// strongOnly drops the keys too weak for PHI (RSA, ElGamal or DSA below
// 2048 bits, legacy algorithms), with a warning that names where the key
// came from: the WKD host and the key's fingerprint, never the address.
func (c *WKDClient) strongOnly(list openpgp.EntityList, host string, now time.Time) openpgp.EntityList {
	var out openpgp.EntityList
	for _, e := range list {
		if w := Weakness(e, now); w != "" {
			c.cfg.Log.Warn("pgp wkd: skipping key too weak for PHI", slog.String("source", "wkd:"+host),
				slog.String("fingerprint", fmt.Sprintf("%X", e.PrimaryKey.Fingerprint)), slog.String("reason", w))
			continue
		}
		out = append(out, e)
	}
	return out
}

// publicDomain reports whether d can be a WKD host: a dotted name, not an
// address literal or a bare internal host name.
func publicDomain(d string) bool {
	if !strings.Contains(d, ".") || strings.HasSuffix(d, ".") || net.ParseIP(d) != nil {
		return false
	}
	for _, c := range d {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// WKDURLs returns the advanced and the direct WKD URLs for addr (which must
// be local@domain).
func WKDURLs(addr string) [2]string {
	local, domain := address.LocalOf(addr), address.DomainOf(addr)
	h := sha1.Sum([]byte(strings.ToLower(local)))
	hu := zbase32(h[:]) + "?l=" + url.QueryEscape(local)
	return [2]string{
		"https://openpgpkey." + domain + "/.well-known/openpgpkey/" + domain + "/hu/" + hu,
		"https://" + domain + "/.well-known/openpgpkey/hu/" + hu,
	}
}

// zbase32 encodes b with the z-base-32 alphabet (RFC 6189 §5.1.6), most
// significant bits first.
func zbase32(b []byte) string {
	const alphabet = "ybndrfg8ejkmcpqxot1uwisza345h769"
	var sb strings.Builder
	var acc uint32
	bits := 0
	for _, c := range b {
		acc = acc<<8 | uint32(c)
		bits += 8
		for bits >= 5 {
			bits -= 5
			sb.WriteByte(alphabet[(acc>>uint(bits))&31])
		}
	}
	if bits > 0 {
		sb.WriteByte(alphabet[(acc<<uint(5-bits))&31])
	}
	return sb.String()
}
