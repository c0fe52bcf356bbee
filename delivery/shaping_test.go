package delivery

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sealgate/sealgate/dnsclient"
	"github.com/sealgate/sealgate/dnsclient/dnstest"
	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/internal/testenv"
	"github.com/sealgate/sealgate/mail"
)

func TestProviderOfRollsUpMXHosts(t *testing.T) {
	for host, want := range map[string]string{
		"alt1.gmail-smtp-in.l.google.com.":       "google.com",
		"gmail-smtp-in.l.google.com":             "google.com",
		"clinic-org.mail.protection.outlook.com": "outlook.com",
		"mta7.am0.yahoodns.net":                  "yahoodns.net",
		"mx1.provider-a.test":                    "provider-a.test",
		"MX2.Provider-A.test":                    "provider-a.test",
		"mx.hospital.co.uk":                      "hospital.co.uk",
		"127.0.0.1":                              "127.0.0.1",
	} {
		if got := providerOf(host); got != want {
			t.Errorf("providerOf(%q) = %q, want %q", host, got, want)
		}
	}
}

func TestThrottleReply(t *testing.T) {
	for _, c := range []struct {
		code int
		enh  string
		want bool
	}{
		{421, "4.7.0", true}, {421, "", true}, {451, "4.7.650", true}, {421, "4.7.28", true},
		{452, "4.5.3", true}, {450, "4.7.0", true}, {451, "4.3.0", false}, {550, "5.7.0", false},
		{452, "4.2.2", false}, {250, "", false},
	} {
		if got := throttleReply(c.code, c.enh); got != c.want {
			t.Errorf("throttleReply(%d, %q) = %v, want %v", c.code, c.enh, got, c.want)
		}
	}
}

// throttleGauge reads sealgate_delivery_provider_throttled for provider
// (0 when the series is absent).
func throttleGauge(t *testing.T, reg *prometheus.Registry, provider string) float64 {
	mfs, err := reg.Gather()
	if err != nil {
		t.Error(err)
		return 0
	}
	for _, mf := range mfs {
		if mf.GetName() != "sealgate_delivery_provider_throttled" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "provider" && l.GetValue() == provider {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	return 0
}

// windowLimit answers 451 4.7.650 past n messages per window, like a
// provider's per-minute limit (with a shorter window for the test).
func windowLimit(n int, window time.Duration, refused *atomic.Int64) func(*smtpsink.Message) *smtp.SMTPError {
	var mu sync.Mutex
	var times []time.Time
	return func(*smtpsink.Message) *smtp.SMTPError {
		mu.Lock()
		defer mu.Unlock()
		now := time.Now()
		keep := times[:0]
		for _, at := range times {
			if now.Sub(at) < window {
				keep = append(keep, at)
			}
		}
		times = keep
		if len(times) >= n {
			refused.Add(1)
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 650},
				Message: "The mail server has been temporarily rate limited"}
		}
		times = append(times, now)
		return nil
	}
}

// job is one message to one recipient for the queue stand-in.
type job struct {
	d        *mail.Delivery
	attempts int
	paced    int       // times the shaper held it
	notUntil time.Time // the start the shaper booked for it
}

// runQueue delivers jobs with workers, putting deferred ones back, as the
// queue does: a paced one not before the time the shaper booked for it,
// and without counting an attempt; bounded in attempts and time.
func runQueue(t *testing.T, c *Client, jobs []*job, workers int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	ch := make(chan *job, len(jobs))
	for _, j := range jobs {
		ch <- j
	}
	var left atomic.Int64
	left.Store(int64(len(jobs)))
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for left.Load() > 0 && ctx.Err() == nil {
				var j *job
				select {
				case j = <-ch:
				case <-time.After(20 * time.Millisecond):
					continue
				}
				if wait := time.Until(j.notUntil); wait > 0 {
					ch <- j // not due yet: another job's turn
					time.Sleep(min(wait, 5*time.Millisecond))
					continue
				}
				out := c.Deliver(ctx, j.d)
				if out[0].Err == nil {
					left.Add(-1)
					continue
				}
				if !out[0].Paced.IsZero() {
					j.paced++
					j.notUntil = out[0].Paced
					ch <- j
					continue
				}
				j.attempts++
				if out[0].Permanent || j.attempts >= 400 {
					t.Errorf("%s: gave up after %d attempts: %v", j.d.Rcpts[0].Addr, j.attempts, out[0].Err)
					left.Add(-1)
					continue
				}
				time.Sleep(10 * time.Millisecond) // the queue's retry delay, shortened
				ch <- j
			}
		})
	}
	wg.Wait()
	if n := left.Load(); n > 0 {
		t.Fatalf("%d messages not delivered in time", n)
	}
}

func jobsFor(domain, client string, n int) []*job {
	var js []*job
	for i := range n {
		d := &mail.Delivery{QueueID: fmt.Sprintf("q-%s-%d", domain, i), From: "news@clinic.test", Domain: domain,
			Client: client, Body: []byte(testBody), Rcpts: []mail.Rcpt{{Addr: fmt.Sprintf("p%d@%s", i, domain)}}}
		js = append(js, &job{d: d})
	}
	return js
}

// sinkOn starts a sink on a loopback address; several sinks stand in for
// providers.
func sinkOn(t *testing.T, opts smtpsink.Options) (*smtpsink.Sink, string) {
	s := smtpsink.Start(t, opts)
	host, port, _ := net.SplitHostPort(s.Addr)
	return s, host + ":" + port
}

// providers is a loopback DNS server publishing the MX hosts of the test's
// providers, each an SMTP sink on its own loopback address, all on one
// port (the client's Port).
type providers struct {
	t    *testing.T
	dns  *dnstest.Server
	res  *dnsclient.Resolver
	port string
	n    int
}

func newProviders(t *testing.T) *providers {
	w := &providers{t: t, dns: dnstest.Start(t)}
	res, err := dnsclient.New(dnsclient.Config{Servers: []string{w.dns.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	w.res = res
	return w
}

// add starts a sink for a provider and publishes it as the MX host of
// each domain: domains[i] → mxHosts[i] (several names, one sink).
func (w *providers) add(opts smtpsink.Options, domains map[string]string) *smtpsink.Sink {
	w.t.Helper()
	w.n++
	ip := dnstest.IPN(w.t, w.n)
	if w.port == "" {
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			w.t.Fatal(err)
		}
		_, w.port, _ = net.SplitHostPort(ln.Addr().String())
		_ = ln.Close()
	}
	opts.Addr = net.JoinHostPort(ip, w.port)
	for domain, mx := range domains {
		w.dns.Add(w.t, domain+". 60 IN MX 10 "+mx+".", mx+". 60 IN A "+ip)
	}
	return smtpsink.Start(w.t, opts)
}

func TestShapingHonoursAndRecoversFromThrottling(t *testing.T) {
	var refusedA atomic.Int64
	w := newProviders(t)
	// two customer domains hosted at provider A share its budget
	a := w.add(smtpsink.Options{DataReply: windowLimit(5, 400*time.Millisecond, &refusedA)},
		map[string]string{"a1.test": "mx1.provider-a.test", "a2.test": "mx2.provider-a.test"})
	b := w.add(smtpsink.Options{MaxPerConn: 3}, map[string]string{"b.test": "mx.provider-b.test"})
	reg := prometheus.NewRegistry()
	var sawAThrottled, sawBThrottled atomic.Bool
	var cWhileAThrottled atomic.Int64
	cDataReply := func(*smtpsink.Message) *smtp.SMTPError {
		if throttleGauge(t, reg, "provider-a.test") == 1 {
			sawAThrottled.Store(true)
			cWhileAThrottled.Add(1)
		}
		if throttleGauge(t, reg, "provider-b.test") == 1 {
			sawBThrottled.Store(true)
		}
		return nil
	}
	cs := w.add(smtpsink.Options{DataReply: cDataReply}, map[string]string{"c.test": "mx.provider-c.test"})
	c := newTestClient(t, Config{
		Resolver: w.res, Port: w.port, Registerer: reg, IdleTimeout: time.Second,
		Shaping: &Shaping{Hold: 300 * time.Millisecond, RecoverStep: 100 * time.Millisecond, MaxWait: 5 * time.Second,
			Marketing: func(client string) bool { return client == "campaign" },
			// One connection to B, so its messages share it and the
			// fourth finds it closed whatever the machine's load; with
			// several, each may carry three or fewer and B's limit is
			// never met.
			Providers: map[string]ProviderLimits{"provider-b.test": {Connections: 1}}},
	})
	var jobs []*job
	jobs = append(jobs, jobsFor("a1.test", "campaign", 20)...)
	jobs = append(jobs, jobsFor("a2.test", "campaign", 20)...)
	jobs = append(jobs, jobsFor("b.test", "campaign", 20)...)
	jobs = append(jobs, jobsFor("c.test", "campaign", 60)...)
	runQueue(t, c, jobs, 8)

	if a.Count() != 40 || b.Count() != 20 || cs.Count() != 60 {
		t.Fatalf("delivered A=%d B=%d C=%d, want 40, 20, 60", a.Count(), b.Count(), cs.Count())
	}
	if refusedA.Load() == 0 {
		t.Fatal("provider A never throttled; the test proves nothing")
	}
	if !sawAThrottled.Load() || cWhileAThrottled.Load() == 0 {
		t.Errorf("mail to provider C did not flow while provider A was throttled (A throttled seen: %v)", sawAThrottled.Load())
	}
	if !sawBThrottled.Load() {
		t.Error("provider B closing connections after 3 messages was never reported as throttling")
	}
	c.shaper.mu.Lock()
	perConnB := c.shaper.provs["provider-b.test"].perConn
	_, split := c.shaper.provs["a1.test"]
	c.shaper.mu.Unlock()
	if perConnB != 3 {
		t.Errorf("messages per connection learned for provider B = %d, want 3", perConnB)
	}
	if split {
		t.Error("a1.test has a budget of its own; it should share provider-a.test's")
	}
	// Recovery: with no more mail, both providers come back step by step.
	testenv.WaitFor(t, 30*time.Second, "both providers no longer reported throttled after the hold and recovery steps", func() bool {
		return throttleGauge(t, reg, "provider-a.test") == 0 && throttleGauge(t, reg, "provider-b.test") == 0
	})
	// After recovery (and once provider A's own window has passed), a
	// message to A goes on the first attempt.
	msgs := a.Messages()
	time.Sleep(time.Until(msgs[len(msgs)-1].Received.Add(500 * time.Millisecond)))
	connsB := b.Conns()
	for i, d := range []*mail.Delivery{jobsFor("a2.test", "campaign", 1)[0].d, jobsFor("b.test", "campaign", 1)[0].d} {
		d.Rcpts[0].Addr = fmt.Sprintf("after%d@%s", i, d.Domain)
		wantOK(t, deliver(t, c, d))
	}
	if !strings.Contains(rcptsOf(a), "after0@a2.test") || !strings.Contains(rcptsOf(b), "after1@b.test") {
		t.Error("mail after recovery not received")
	}
	if b.Conns() < connsB {
		t.Error("connection count went backwards")
	}
}

func TestShapingTransactionalFirst(t *testing.T) {
	sink, addr := sinkOn(t, smtpsink.Options{})
	_, port, _ := net.SplitHostPort(addr)
	res := &fakeResolver{hosts: map[string][]string{"mx.busy-provider.test": {"127.0.0.1"}}}
	c := newTestClient(t, Config{
		Resolver: res,
		Routes:   map[string]string{"p.test": "mx.busy-provider.test:" + port},
		Shaping: &Shaping{
			Limits:    ProviderLimits{Connections: 1, PerMinute: 600}, // one start per 100ms
			MaxWait:   60 * time.Second,
			Marketing: func(client string) bool { return client == "campaign" },
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const nMarketing, nTrans = 30, 5
	var wg sync.WaitGroup
	send := func(j *job) {
		wg.Go(func() {
			if out := c.Deliver(ctx, j.d); out[0].Err != nil {
				t.Errorf("%s: %v", j.d.Rcpts[0].Addr, out[0].Err)
			}
		})
	}
	for _, j := range jobsFor("p.test", "campaign", nMarketing) {
		send(j)
	}
	if _, err := sink.Wait(2, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	before := sink.Count()
	trans := jobsFor("p.test", "ehr", nTrans)
	for _, j := range trans {
		j.d.Rcpts[0].Addr = "t" + j.d.Rcpts[0].Addr
		send(j)
	}
	wg.Wait()
	msgs := sink.Messages()
	if len(msgs) != nMarketing+nTrans {
		t.Fatalf("received %d messages, want %d", len(msgs), nMarketing+nTrans)
	}
	last := -1
	for i, m := range msgs {
		if strings.HasPrefix(m.Rcpts[0], "t") {
			last = i
		}
	}
	// At most the one marketing message already under way (plus one that
	// may have taken its slot while the transactional ones were starting)
	// goes before them; without priority they would queue behind the
	// remaining campaign.
	if limit := before + nTrans + 2; last >= limit {
		t.Errorf("last transactional message arrived as #%d of %d (campaign messages before it: %d); want before #%d",
			last+1, len(msgs), last+1-nTrans, limit+1)
	}
	if before+nTrans+2 >= nMarketing {
		t.Fatalf("test set-up: %d campaign messages already delivered before the transactional ones", before)
	}
}

// A pooled connection that the server dropped after it idled (its idle
// timeout) is not taken for a per-connection limit.
func TestShapingIgnoresIdleTimeoutClose(t *testing.T) {
	sink, addr := sinkOn(t, smtpsink.Options{})
	_, port, _ := net.SplitHostPort(addr)
	reg := prometheus.NewRegistry()
	c := newTestClient(t, Config{
		Resolver:   &fakeResolver{hosts: map[string][]string{"mx.idle-provider.test": {"127.0.0.1"}}},
		Routes:     map[string]string{"p.test": "mx.idle-provider.test:" + port},
		Registerer: reg, Shaping: &Shaping{},
	})
	c.shaper.quickClose = time.Nanosecond // any idle time is "long" here
	for i := range 2 {
		d := jobsFor("p.test", "", 1)[0].d
		d.Rcpts[0].Addr = fmt.Sprintf("r%d@p.test", i)
		wantOK(t, deliver(t, c, d))
	}
	sink.CloseConns()
	d := jobsFor("p.test", "", 1)[0].d
	wantOK(t, deliver(t, c, d))
	if sink.Count() != 3 || sink.Conns() != 2 {
		t.Fatalf("got %d messages on %d connections, want 3 on 2 (the dropped one replaced)", sink.Count(), sink.Conns())
	}
	c.shaper.mu.Lock()
	p := c.shaper.provs["idle-provider.test"]
	perConn, throttled := p.perConn, p.throttled
	c.shaper.mu.Unlock()
	if perConn != 100 || throttled || throttleGauge(t, reg, "idle-provider.test") != 0 {
		t.Errorf("idle close taken for a throttle: messages per connection %d, throttled %v", perConn, throttled)
	}
}

// campaignClient is a client whose "campaign" client sends marketing mail,
// to one provider (mx.paced-provider.test) on a loopback sink.
func campaignClient(t *testing.T, s Shaping, opts smtpsink.Options) (*Client, *smtpsink.Sink) {
	sink, addr := sinkOn(t, opts)
	_, port, _ := net.SplitHostPort(addr)
	s.Marketing = func(client string) bool { return client == "campaign" }
	c := newTestClient(t, Config{
		Resolver: &fakeResolver{hosts: map[string][]string{"mx.paced-provider.test": {"127.0.0.1"}}},
		Routes:   map[string]string{"p.test": "mx.paced-provider.test:" + port},
		Shaping:  &s,
	})
	return c, sink
}

// one is a message from client to rcpt@p.test.
func one(client, rcpt string) *mail.Delivery {
	d := jobsFor("p.test", client, 1)[0].d
	d.Rcpts[0].Addr = rcpt + "@p.test"
	return d
}

// A campaign's spent budget and a provider's throttle hold pace marketing
// mail, not transactional mail: the reminders go at once.
func TestShapingTransactionalNotHeldByCampaignBudget(t *testing.T) {
	throttleMe := func(m *smtpsink.Message) *smtp.SMTPError {
		if strings.HasPrefix(m.Rcpts[0], "throttle") {
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 650}, Message: "rate limited"}
		}
		return nil
	}
	c, sink := campaignClient(t, Shaping{Limits: ProviderLimits{Connections: 3, PerMinute: 1}, Hold: time.Hour},
		smtpsink.Options{DataReply: throttleMe})
	wantOK(t, deliver(t, c, one("campaign", "m0")))
	start := time.Now()
	out := deliver(t, c, one("campaign", "m1"))
	if out[0].Err == nil || out[0].Paced.IsZero() {
		t.Fatalf("second campaign message within the minute: err %v, paced %v; want it paced", out[0].Err, out[0].Paced)
	}
	if d := out[0].Paced.Sub(start); d < 50*time.Second {
		t.Errorf("campaign message booked %v ahead, want about a minute (one a minute)", d)
	}
	for i := range 5 {
		wantOK(t, deliver(t, c, one("ehr", fmt.Sprintf("t%d", i))))
	}
	// A transactional message the provider throttles starts a hold of an
	// hour: the campaign is paced past it, reminders still go.
	if out := deliver(t, c, one("ehr", "throttle")); out[0].Err == nil || !out[0].Paced.IsZero() {
		t.Fatalf("throttled reminder: err %v, paced %v; want a real deferral", out[0].Err, out[0].Paced)
	}
	out = deliver(t, c, one("campaign", "m2"))
	if out[0].Paced.Before(start.Add(59 * time.Minute)) {
		t.Errorf("campaign message during the hold paced until %v, want past the hour's hold", out[0].Paced)
	}
	wantOK(t, deliver(t, c, one("ehr", "t5")))
	if got := rcptsOf(sink); got != "m0@p.test,t0@p.test,t1@p.test,t2@p.test,t3@p.test,t4@p.test,t5@p.test" {
		t.Errorf("received %s", got)
	}
}

// While a throttle hold lasts, transactional mail goes one message at a
// time; marketing mail leaves one connection to it.
func TestShapingHoldLetsOneReminderAtATime(t *testing.T) {
	now := time.Now()
	p := &provider{lim: ProviderLimits{Connections: 3}, holdUntil: now.Add(time.Minute)}
	if _, ok := p.try(now, true); !ok {
		t.Fatal("first reminder held by the hold")
	}
	if _, ok := p.try(now, true); ok {
		t.Error("second reminder started while the first is under way during the hold")
	}
	if _, ok := p.try(now, false); ok {
		t.Error("campaign message started during the hold")
	}
	q := &provider{lim: ProviderLimits{Connections: 3}}
	for range 2 {
		if _, ok := q.try(now, false); !ok {
			t.Fatal("campaign message refused a free connection")
		}
	}
	if _, ok := q.try(now, false); ok {
		t.Error("campaign took the last connection")
	}
	if _, ok := q.try(now, true); !ok {
		t.Error("reminder found no connection")
	}
}

// Deliveries held together are booked one pace apart, so they come back
// one by one; per_hour alone sets the pace.
func TestShapingBooksPacedStarts(t *testing.T) {
	c, _ := campaignClient(t, Shaping{Limits: ProviderLimits{PerHour: 120}}, smtpsink.Options{})
	if got := c.shaper.limits("paced-provider.test").rate(); got != 2 {
		t.Fatalf("pace from per_hour 120 = %v a minute, want 2", got)
	}
	start := time.Now()
	wantOK(t, deliver(t, c, one("campaign", "m0")))
	var booked []time.Time
	for i := range 4 {
		out := deliver(t, c, one("campaign", fmt.Sprintf("m%d", i+1)))
		if out[0].Paced.IsZero() {
			t.Fatalf("message %d not paced: %v", i+1, out[0].Err)
		}
		booked = append(booked, out[0].Paced)
	}
	if booked[0].Before(start.Add(29 * time.Second)) {
		t.Errorf("first booked start %v after the last, want 30s", booked[0].Sub(start))
	}
	for i := 1; i < len(booked); i++ {
		if d := booked[i].Sub(booked[i-1]); d < 30*time.Second || d > 31*time.Second {
			t.Errorf("booked starts %d and %d are %v apart, want 30s", i, i+1, d)
		}
	}
}

func TestShapingBuiltinProviders(t *testing.T) {
	for host, want := range map[string]string{
		"aspmx.l.google.com":                     "google.com",
		"mta6.am0.yahoodns.net":                  "yahoodns.net",
		"mx-aol.mail.gm0.yahoodns.net":           "yahoodns.net",
		"hotmail-com.olc.protection.outlook.com": "outlook.com",
		"clinic-org.mail.protection.outlook.com": "outlook.com",
	} {
		got := providerOf(host)
		if got != want {
			t.Errorf("providerOf(%q) = %q, want %q", host, got, want)
		}
		if _, ok := BuiltinProviders[got]; !ok {
			t.Errorf("no built-in budget for %s (%s)", got, host)
		}
	}
	s := newShaper(Shaping{Limits: ProviderLimits{Connections: 4, PerMinute: 30},
		Providers: map[string]ProviderLimits{"google.com": {PerMinute: 50}}})
	if got, want := s.limits("yahoodns.net"), BuiltinProviders["yahoodns.net"]; got != want {
		t.Errorf("yahoodns.net budget %+v, want the built-in %+v", got, want)
	}
	g, b := s.limits("google.com"), BuiltinProviders["google.com"]
	if g.PerMinute != 50 || g.PerHour != b.PerHour || g.Connections != b.Connections {
		t.Errorf("google.com budget %+v: want per_minute overridden to 50, the rest built in (%+v)", g, b)
	}
	if got := s.limits("hospital.test"); got != (ProviderLimits{Connections: 4, MessagesPerConnection: 100, PerMinute: 30}) {
		t.Errorf("an unknown provider's budget %+v, want the defaults", got)
	}
}

// A domain hosted at Google (its MX aspmx.l.google.com, published by a
// DNS server on loopback and pointing at a loopback sink) gets Google's
// built-in budget through the MX rollup.
func TestShapingBuiltinBudgetByMX(t *testing.T) {
	w := newProviders(t)
	sink := w.add(smtpsink.Options{}, map[string]string{"clinic-workspace.test": "aspmx.l.google.com"})
	c := newTestClient(t, Config{Resolver: w.res, Port: w.port, Shaping: &Shaping{}})
	d := jobsFor("clinic-workspace.test", "", 1)[0].d
	wantOK(t, deliver(t, c, d))
	if sink.Count() != 1 {
		t.Fatalf("sink received %d messages", sink.Count())
	}
	c.shaper.mu.Lock()
	p := c.shaper.provs["google.com"]
	c.shaper.mu.Unlock()
	if p == nil || p.lim != BuiltinProviders["google.com"] {
		t.Fatalf("delivery via aspmx.l.google.com not under google.com's built-in budget: %+v", p)
	}
}
