package mtasts_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/sealgate/sealgate/dnsclient"
	"github.com/sealgate/sealgate/dnsclient/dnstest"
	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/mtasts"
	"github.com/sealgate/sealgate/mtasts/ststest"
)

const enforce = "version: STSv1\nmode: enforce\nmx: mx.partner.test\nmax_age: 86400\n"

type env struct {
	dns  *dnstest.Server
	host *ststest.Host
	ca   *smtpsink.TestCA
}

// setup serves a policy for partner.test with cert (nil: a good one).
func setup(t *testing.T, cert *tls.Certificate, policy, id string) env {
	t.Helper()
	ca := smtpsink.NewTestCA(t)
	if cert == nil {
		c := ca.Leaf(t, "mta-sts.partner.test")
		cert = &c
	}
	ip := dnstest.IP(t)
	srv := dnstest.Start(t)
	srv.Add(t, "mta-sts.partner.test. 60 IN A "+ip, `_mta-sts.partner.test. 60 IN TXT "v=STSv1; id=`+id+`"`)
	return env{dns: srv, host: ststest.Start(t, ip, *cert, policy), ca: ca}
}

func newCache(t *testing.T, e env, dir string) *mtasts.Cache {
	t.Helper()
	return newCacheRecheck(t, e, dir, -1)
}

func newCacheRecheck(t *testing.T, e env, dir string, recheck time.Duration) *mtasts.Cache {
	t.Helper()
	res, err := dnsclient.New(dnsclient.Config{Servers: []string{e.dns.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	port := "" // no policy host: nothing to fetch from
	if e.host != nil {
		port = e.host.Port()
	}
	c, err := mtasts.NewCache(mtasts.Config{Dir: dir, Resolver: res, RootCAs: e.ca.Pool(), RecheckInterval: recheck, Port: port})
	if err != nil {
		t.Fatal(err)
	}
	c.Start(context.Background())
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestFetchCacheAndRefreshOnNewID(t *testing.T) {
	t.Parallel()
	e := setup(t, nil, enforce, "one")
	dir := t.TempDir()
	c := newCache(t, e, dir)
	ctx := context.Background()
	for range 3 {
		p, err := c.Get(ctx, "Partner.Test.")
		if err != nil || p == nil || p.Mode != mtasts.ModeEnforce || !p.Match("mx.partner.test") || p.ID != "one" {
			t.Fatalf("policy %+v, %v", p, err)
		}
	}
	if e.host.Hits() != 1 {
		t.Errorf("%d fetches, want 1 while the id stays the same", e.host.Hits())
	}
	e.host.SetPolicy("version: STSv1\nmode: testing\nmx: *.partner.test\nmax_age: 86400\n", "")
	e.dns.Add(t, `_mta-sts.partner.test. 60 IN TXT "v=STSv2; id=ignored"`)
	if p, _ := c.Get(ctx, "partner.test"); p.Mode != mtasts.ModeEnforce || e.host.Hits() != 1 {
		t.Errorf("refetched without an id change: %+v", p)
	}
	// A second valid record makes the record unusable: the cache answers.
	e.dns.Add(t, `_mta-sts.partner.test. 60 IN TXT "v=STSv1; id=two"`)
	if p, _ := c.Get(ctx, "partner.test"); p == nil || p.ID != "one" {
		t.Errorf("two records: %+v", p)
	}

	// The policy survives a restart, even when DNS no longer answers.
	empty := env{dns: dnstest.Start(t), ca: e.ca}
	c2 := newCache(t, empty, dir)
	if p, err := c2.Get(ctx, "partner.test"); err != nil || p == nil || p.ID != "one" {
		t.Errorf("after restart: %+v %v", p, err)
	}
}

func TestNewIDFetchesAgain(t *testing.T) {
	t.Parallel()
	e := setup(t, nil, enforce, "one")
	c := newCache(t, e, "")
	ctx := context.Background()
	if p, err := c.Get(ctx, "partner.test"); err != nil || p == nil {
		t.Fatal(p, err)
	}
	e.host.SetPolicy("version: STSv1\nmode: testing\nmx: *.partner.test\nmax_age: 86400\n", "")
	e.dns.Set(t, `_mta-sts.partner.test. 60 IN TXT "v=STSv1; id=two"`)
	p, err := c.Get(ctx, "partner.test")
	if err != nil || p.Mode != mtasts.ModeTesting || p.ID != "two" || !p.Match("mx9.partner.test") || e.host.Hits() != 2 {
		t.Errorf("new id: %+v %v", p, err)
	}
	// When the id changes but the host is broken, the cached policy stays.
	e.host.SetPolicy("garbage", "")
	e.dns.Set(t, `_mta-sts.partner.test. 60 IN TXT "v=STSv1; id=three"`)
	if p, err := c.Get(ctx, "partner.test"); err != nil || p == nil || p.ID != "two" {
		t.Errorf("broken refetch: %+v %v", p, err)
	}
}

func TestFetchFailures(t *testing.T) {
	t.Parallel()
	ca := smtpsink.NewTestCA(t)
	self := smtpsink.SelfSigned(t, "mta-sts.partner.test")
	wrong := ca.Leaf(t, "other.test")
	cases := []struct {
		name   string
		cert   *tls.Certificate
		policy string
		ctype  string
		want   error
	}{
		{"self-signed", &self, enforce, "", mtasts.ErrWebPKI},
		{"wrong name", &wrong, enforce, "", mtasts.ErrWebPKI},
		{"content type", nil, enforce, "text/html", mtasts.ErrPolicy},
		{"bad policy", nil, "version: STSv1\nmode: enforce\n", "", mtasts.ErrPolicy},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t, tc.cert, tc.policy, "one")
			if tc.cert != nil && tc.cert != &self {
				e.ca = ca
			}
			if tc.ctype != "" {
				e.host.SetPolicy(tc.policy, tc.ctype)
			}
			p, err := newCache(t, e, "").Get(context.Background(), "partner.test")
			if p != nil || !errors.Is(err, tc.want) {
				t.Errorf("got %+v, %v; want %v", p, err, tc.want)
			}
		})
	}
}

func TestNoneAndNoRecord(t *testing.T) {
	t.Parallel()
	e := setup(t, nil, "version: STSv1\nmode: none\nmax_age: 86400\n", "one")
	c := newCache(t, e, "")
	if p, err := c.Get(context.Background(), "partner.test"); p != nil || err != nil || e.host.Hits() != 1 {
		t.Errorf("mode none: %+v %v, hits %d", p, err, e.host.Hits())
	}
	if p, err := c.Get(context.Background(), "nopolicy.test"); p != nil || err != nil {
		t.Errorf("no record: %+v %v", p, err)
	}
}

// Within the recheck interval the record is not looked up again; Refresh
// looks regardless and picks up a new id.
func TestRecheckInterval(t *testing.T) {
	t.Parallel()
	e := setup(t, nil, enforce, "one")
	c := newCacheRecheck(t, e, "", time.Hour)
	ctx := context.Background()
	if p, err := c.Get(ctx, "partner.test"); err != nil || p == nil {
		t.Fatal(p, err)
	}
	queries := e.dns.Queries()
	e.dns.Set(t, `_mta-sts.partner.test. 60 IN TXT "v=STSv1; id=two"`)
	if p, _ := c.Get(ctx, "partner.test"); p.ID != "one" || e.dns.Queries() != queries {
		t.Errorf("record looked up again within the interval: %+v", p)
	}
	c.Refresh(ctx)
	if p, _ := c.Get(ctx, "partner.test"); p.ID != "two" || e.host.Hits() != 2 {
		t.Errorf("refresh missed the new id: %+v", p)
	}
}

// A failed fetch is remembered for the recheck interval: deliveries to a
// domain whose policy host is broken do not each wait for it.
func TestFailedFetchRemembered(t *testing.T) {
	t.Parallel()
	e := setup(t, nil, "garbage", "one")
	c := newCacheRecheck(t, e, "", time.Hour)
	ctx := context.Background()
	for range 3 {
		if p, err := c.Get(ctx, "partner.test"); p != nil || !errors.Is(err, mtasts.ErrPolicy) {
			t.Fatalf("%+v %v", p, err)
		}
	}
	if e.host.Hits() != 1 {
		t.Errorf("%d fetches, want 1", e.host.Hits())
	}
	e.host.SetPolicy(enforce, "")
	e.dns.Set(t, `_mta-sts.partner.test. 60 IN TXT "v=STSv1; id=two"`)
	if p, err := c.Get(ctx, "partner.test"); err != nil || p == nil || p.ID != "two" {
		t.Errorf("a new id is fetched at once: %+v %v", p, err)
	}
}

// A fetch its caller gave up on (a policy host that accepts and does not
// answer in time) is not remembered as a failure: the next Get, with time
// to wait, fetches the policy once the host answers.
func TestCancelledFetchNotRemembered(t *testing.T) {
	t.Parallel()
	e := setup(t, nil, enforce, "one")
	ip := dnstest.IP(t)
	hang, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(hang.Addr().String())
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			conn, err := hang.Accept()
			if err != nil {
				return
			}
			accepted <- conn // held open, never answered
		}
	}()
	res, err := dnsclient.New(dnsclient.Config{Servers: []string{e.dns.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := mtasts.NewCache(mtasts.Config{Resolver: res, RootCAs: e.ca.Pool(), RecheckInterval: time.Hour, Port: port})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if p, err := c.Get(ctx, "partner.test"); p != nil || err == nil {
		t.Fatalf("against a host that does not answer: %+v %v", p, err)
	}
	_ = hang.Close()
	for len(accepted) > 0 {
		_ = (<-accepted).Close()
	}
	ststest.StartPort(t, ip, port, e.ca.Leaf(t, "mta-sts.partner.test"), enforce)
	if p, err := c.Get(context.Background(), "partner.test"); err != nil || p == nil || p.Mode != mtasts.ModeEnforce {
		t.Fatalf("once the host answers: %+v %v; want the policy", p, err)
	}
}
