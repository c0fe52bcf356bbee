package delivery

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/internal/testenv"
	"github.com/sealgate/sealgate/mail"
)

// gather returns the value of a metric with one label pair.
func gather(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label && lp.GetValue() == value {
					if g := m.GetGauge(); g != nil {
						return g.GetValue()
					}
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("metric %s{%s=%q} not found", name, label, value)
	return 0
}

func TestConnectionReuse(t *testing.T) {
	t.Parallel()
	ca := smtpsink.NewTestCA(t)
	sink := smtpsink.Start(t, smtpsink.Options{TLS: smtpsink.ServerTLS(ca.Leaf(t, "127.0.0.1"))})
	reg := prometheus.NewRegistry()
	c := newTestClient(t, Config{Routes: routeTo(sink), RootCAs: ca.Pool(), Registerer: reg})
	for _, r := range []string{"b@partner.test", "c@partner.test", "d@partner.test"} {
		out := deliver(t, c, newDelivery(r))
		wantOK(t, out)
		if !out[0].Verified {
			t.Errorf("%s: reused session lost its TLS state: %+v", r, out[0])
		}
	}
	if sink.Conns() != 1 || sink.Count() != 3 {
		t.Errorf("conns %d, messages %d: want 3 messages over one connection", sink.Conns(), sink.Count())
	}
	if v := gather(t, reg, "sealgate_delivery_connections", "state", "idle"); v != 1 {
		t.Errorf("idle gauge %v, want 1", v)
	}
	if v := gather(t, reg, "sealgate_delivery_connections", "state", "busy"); v != 0 {
		t.Errorf("busy gauge %v, want 0", v)
	}
	if ok, re := gather(t, reg, "sealgate_delivery_connects_total", "result", "ok"),
		gather(t, reg, "sealgate_delivery_connects_total", "result", "reused"); ok != 1 || re != 2 {
		t.Errorf("connects ok=%v reused=%v, want 1 and 2", ok, re)
	}
	// A different TLS requirement does not share the session.
	d := newDelivery("e@partner.test")
	d.TLS = mail.TLSVerify
	wantOK(t, deliver(t, c, d))
	if sink.Conns() != 2 {
		t.Errorf("conns %d, want a separate session for TLSVerify", sink.Conns())
	}
	c.pool.expire(true)
	if v := gather(t, reg, "sealgate_delivery_connections", "state", "idle"); v != 0 {
		t.Errorf("idle gauge %v after expiry, want 0", v)
	}
}

// A pooled connection the server dropped is replaced transparently.
func TestStalePooledConnection(t *testing.T) {
	t.Parallel()
	sink := smtpsink.Start(t, smtpsink.Options{})
	c := newTestClient(t, Config{Routes: routeTo(sink)})
	wantOK(t, deliver(t, c, newDelivery("b@partner.test")))
	sink.CloseConns()
	wantOK(t, deliver(t, c, newDelivery("c@partner.test")))
	if sink.Conns() != 2 || sink.Count() != 2 {
		t.Errorf("conns %d messages %d", sink.Conns(), sink.Count())
	}
}

// gate holds DATA replies until opened, and counts who is waiting.
type gate struct {
	mu      sync.Mutex
	waiting int
	arrived chan struct{}
	open    chan struct{}
}

func newGate() *gate {
	return &gate{arrived: make(chan struct{}, 100), open: make(chan struct{})}
}

func (g *gate) hold(*smtpsink.Message) *smtp.SMTPError {
	g.arrived <- struct{}{}
	<-g.open
	return nil
}

// await waits for n held transactions, bounded in time.
func (g *gate) await(t *testing.T, n int) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for range n {
		select {
		case <-g.arrived:
		case <-timeout:
			t.Fatalf("fewer than %d transactions reached DATA", n)
		}
	}
}

func TestConcurrencyLimit(t *testing.T) {
	t.Parallel()
	g := newGate()
	sink := smtpsink.Start(t, smtpsink.Options{DataReply: g.hold})
	c := newTestClient(t, Config{Routes: routeTo(sink), MaxConnsPerDest: 2})
	const n = 6
	results := make(chan []mail.Outcome, n)
	for range n {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			results <- c.Deliver(ctx, newDelivery("b@partner.test"))
		}()
	}
	g.await(t, 2)
	if got := sink.Conns(); got != 2 {
		t.Errorf("%d connections while two are busy, want 2", got)
	}
	close(g.open)
	for range n {
		wantOK(t, <-results)
	}
	if sink.MaxActive() > 2 || sink.Conns() > 2 || sink.Count() != n {
		t.Errorf("max active %d, conns %d, messages %d", sink.MaxActive(), sink.Conns(), sink.Count())
	}
}

// A caller waiting for a connection slot gives up when its context ends.
func TestConcurrencyWaitBoundedByContext(t *testing.T) {
	t.Parallel()
	g := newGate()
	sink := smtpsink.Start(t, smtpsink.Options{DataReply: g.hold})
	c := newTestClient(t, Config{Routes: routeTo(sink), MaxConnsPerDest: 1})
	first := make(chan []mail.Outcome, 1)
	go func() { first <- deliver(t, c, newDelivery("b@partner.test")) }()
	g.await(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	out := c.Deliver(ctx, newDelivery("c@partner.test"))
	wantFail(t, out[0], false, "4.4.5")
	close(g.open)
	wantOK(t, <-first)
	if sink.Conns() != 1 || sink.Count() != 1 {
		t.Errorf("conns %d messages %d", sink.Conns(), sink.Count())
	}
}

func TestClosedClientDefers(t *testing.T) {
	t.Parallel()
	sink := smtpsink.Start(t, smtpsink.Options{})
	c := newTestClient(t, Config{Routes: routeTo(sink)})
	wantOK(t, deliver(t, c, newDelivery("b@partner.test")))
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	wantFail(t, deliver(t, c, newDelivery("c@partner.test"))[0], false, "")
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestMetricsRegisteredOnce(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	newTestClient(t, Config{Registerer: reg})
	if c, err := New(Config{Hostname: "gw.test", Registerer: reg}); err == nil {
		c.Close()
		t.Error("second registration accepted")
	}
}

// The janitor closes connections idle for longer than IdleTimeout.
func TestIdleConnectionsExpire(t *testing.T) {
	t.Parallel()
	sink := smtpsink.Start(t, smtpsink.Options{})
	reg := prometheus.NewRegistry()
	c := newTestClient(t, Config{Routes: routeTo(sink), IdleTimeout: 20 * time.Millisecond, Registerer: reg})
	wantOK(t, deliver(t, c, newDelivery("b@partner.test")))
	testenv.WaitFor(t, 30*time.Second, "the idle connection to expire", func() bool {
		return gather(t, reg, "sealgate_delivery_connections", "state", "idle") == 0
	})
	wantOK(t, deliver(t, c, newDelivery("c@partner.test")))
	if sink.Conns() != 2 {
		t.Errorf("conns %d, want a new connection after expiry", sink.Conns())
	}
}

// With an overall limit, an idle connection to one destination is closed
// to make room for another destination.
func TestTotalLimitEvictsIdle(t *testing.T) {
	t.Parallel()
	one := smtpsink.Start(t, smtpsink.Options{})
	two := smtpsink.Start(t, smtpsink.Options{})
	reg := prometheus.NewRegistry()
	c := newTestClient(t, Config{Routes: map[string]string{"partner.test": one.Addr, "other.test": two.Addr},
		MaxConns: 1, Registerer: reg})
	wantOK(t, deliver(t, c, newDelivery("b@partner.test")))
	d := newDelivery("c@other.test")
	d.Domain = "other.test"
	wantOK(t, deliver(t, c, d))
	wantOK(t, deliver(t, c, newDelivery("d@partner.test")))
	if one.Conns() != 2 || two.Conns() != 1 {
		t.Errorf("conns %d and %d, want 2 and 1", one.Conns(), two.Conns())
	}
	if v := gather(t, reg, "sealgate_delivery_connections", "state", "idle"); v != 1 {
		t.Errorf("idle gauge %v, want 1", v)
	}
}

// Table test of the pool's accounting without any network: slots, reuse by
// key, eviction and waking.
func TestPoolAccounting(t *testing.T) {
	t.Parallel()
	p := newPool(poolLimits{perDest: 2, total: 3, idleTimeout: time.Hour}, newMetrics())
	ctx := context.Background()
	mustSlot := func(dst string) {
		t.Helper()
		if s, err := p.acquire(ctx, dst, dst+"|1", true); s != nil || err != nil {
			t.Fatalf("acquire %s: %v %v, want a free slot", dst, s, err)
		}
	}
	mustSlot("a:25")
	mustSlot("a:25")
	mustSlot("b:25")
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if _, err := p.acquire(short, "c:25", "c:25|1", true); err == nil {
		t.Fatal("total limit not enforced")
	}
	p.release("b:25")
	mustSlot("c:25")
	if p.total != 3 || p.dests["a:25"].open != 2 || p.dests["b:25"] != nil {
		t.Errorf("total %d, dests %v", p.total, p.dests)
	}
}
