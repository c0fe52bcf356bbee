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
	"github.com/sealgate/sealgate/internal/smtpsink"
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
}

// runQueue delivers jobs with workers, putting deferred ones back, as the
// queue does; bounded in attempts and time.
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
				j.attempts++
				out := c.Deliver(ctx, j.d)
				if out[0].Err == nil {
					left.Add(-1)
					continue
				}
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

func TestShapingHonoursAndRecoversFromThrottling(t *testing.T) {
	var refusedA atomic.Int64
	a, addrA := sinkOn(t, smtpsink.Options{DataReply: windowLimit(5, 400*time.Millisecond, &refusedA)})
	b, addrB := sinkOn(t, smtpsink.Options{MaxPerConn: 3})
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
	cs, addrC := sinkOn(t, smtpsink.Options{DataReply: cDataReply})
	_, portA, _ := net.SplitHostPort(addrA)
	_, portB, _ := net.SplitHostPort(addrB)
	_, portC, _ := net.SplitHostPort(addrC)
	res := &fakeResolver{hosts: map[string][]string{
		"mx1.provider-a.test": {"127.0.0.1"}, "mx2.provider-a.test": {"127.0.0.1"},
		"mx.provider-b.test": {"127.0.0.1"}, "mx.provider-c.test": {"127.0.0.1"},
	}}
	c := newTestClient(t, Config{
		Resolver: res, Registerer: reg, IdleTimeout: 200 * time.Millisecond,
		Routes: map[string]string{
			// two customer domains hosted at provider A share its budget
			"a1.test": "mx1.provider-a.test:" + portA, "a2.test": "mx2.provider-a.test:" + portA,
			"b.test": "mx.provider-b.test:" + portB, "c.test": "mx.provider-c.test:" + portC,
		},
		Shaping: &Shaping{Hold: 300 * time.Millisecond, RecoverStep: 100 * time.Millisecond, MaxWait: 5 * time.Second},
	})
	var jobs []*job
	jobs = append(jobs, jobsFor("a1.test", "", 20)...)
	jobs = append(jobs, jobsFor("a2.test", "", 20)...)
	jobs = append(jobs, jobsFor("b.test", "", 20)...)
	jobs = append(jobs, jobsFor("c.test", "", 60)...)
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
	deadline := time.Now().Add(20 * time.Second)
	for throttleGauge(t, reg, "provider-a.test") != 0 || throttleGauge(t, reg, "provider-b.test") != 0 {
		if time.Now().After(deadline) {
			t.Fatal("providers still reported throttled after the hold and recovery steps")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// After recovery (and once provider A's own window has passed), a
	// message to A goes on the first attempt.
	for msgs := a.Messages(); time.Since(msgs[len(msgs)-1].Received) < 500*time.Millisecond; {
		time.Sleep(20 * time.Millisecond) // bounded: the last message only gets older
	}
	connsB := b.Conns()
	for i, d := range []*mail.Delivery{jobsFor("a2.test", "", 1)[0].d, jobsFor("b.test", "", 1)[0].d} {
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
