package mtasts

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strings"
)

// maxPolicyBytes bounds a policy body; RFC 8461 §3.3 suggests 64 KiB.
const maxPolicyBytes = 64 << 10

// Errors of fetching, wrapped with their cause.
var (
	// ErrFetch: the policy host could not be reached or answered badly
	// (TLS-RPT sts-policy-fetch-error).
	ErrFetch = errors.New("mtasts: policy fetch failed")
	// ErrWebPKI: the policy host's certificate did not validate
	// (TLS-RPT sts-webpki-invalid).
	ErrWebPKI = errors.New("mtasts: policy host certificate invalid")
)

// newHTTPClient makes the client for policy fetches: connections go to the
// addresses our resolver gives for the host, on port 443 (Config.Port in
// tests), with PKIX
// verification against roots; redirects are not followed (RFC 8461 §3.3).
func (c *Cache) newHTTPClient() *http.Client {
	tr := &http.Transport{
		DialContext:         c.dial,
		TLSClientConfig:     &tls.Config{RootCAs: c.cfg.RootCAs, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: c.cfg.Timeout,
		DisableKeepAlives:   true,
		Proxy:               nil,
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       c.cfg.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// dial resolves the policy host with the configured resolver.
func (c *Cache) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if c.cfg.Port != "" {
		port = c.cfg.Port
	}
	ips, err := c.cfg.Resolver.LookupHost(ctx, host)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	var last error = errors.New("no addresses")
	for _, ip := range ips {
		conn, err := d.DialContext(ctx, network, net.JoinHostPort(ip, port))
		if err == nil {
			return conn, nil
		}
		last = err
	}
	return nil, last
}

// fetch gets and parses https://mta-sts.<domain>/.well-known/mta-sts.txt
// (RFC 8461 §3.3).
func (c *Cache) fetch(ctx context.Context, domain string) (*Policy, error) {
	url := "https://mta-sts." + domain + "/.well-known/mta-sts.txt"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFetch, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var ve *tls.CertificateVerificationError
		if errors.As(err, &ve) {
			return nil, fmt.Errorf("%w: %w", ErrWebPKI, err)
		}
		return nil, fmt.Errorf("%w: %w", ErrFetch, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: HTTP status %d", ErrFetch, resp.StatusCode)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); !strings.EqualFold(mt, "text/plain") {
		return nil, fmt.Errorf("%w: content type is not text/plain", ErrPolicy)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPolicyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFetch, err)
	}
	if len(body) > maxPolicyBytes {
		return nil, fmt.Errorf("%w: policy larger than %d bytes", ErrPolicy, maxPolicyBytes)
	}
	return ParsePolicy(body)
}
