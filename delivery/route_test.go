package delivery

import (
	"errors"
	"net"
	"testing"

	"github.com/sealgate/sealgate/internal/smtpsink"
)

func TestNullMX(t *testing.T) {
	t.Parallel()
	res := &fakeResolver{mx: map[string][]*net.MX{"partner.test": {{Host: ".", Pref: 0}}}}
	c := newTestClient(t, Config{Resolver: res})
	e := wantFail(t, deliver(t, c, newDelivery("b@partner.test"))[0], true, "5.1.10")
	if e.Command != CmdDNS || res.lookups != 1 {
		t.Errorf("command %q, %d lookups", e.Command, res.lookups)
	}
}

// MX hosts are tried by preference until one takes the connection.
func TestMXOrderAndFallback(t *testing.T) {
	t.Parallel()
	sink := smtpsink.Start(t, smtpsink.Options{})
	res := &fakeResolver{
		mx: map[string][]*net.MX{"partner.test": {
			{Host: "mx3.partner.test.", Pref: 30},
			{Host: "mx1.partner.test.", Pref: 10},
			{Host: "mx2.partner.test.", Pref: 20},
		}},
		hostErr: map[string]error{"mx1.partner.test": &net.DNSError{Err: "timeout", IsTimeout: true}},
		hosts: map[string][]string{
			"mx2.partner.test": {"::1"}, // nothing listens there on the sink's port
			"mx3.partner.test": {"127.0.0.1"},
		},
	}
	c := newTestClient(t, Config{Resolver: res, Port: sinkPort(t, sink)})
	out := deliver(t, c, newDelivery("b@partner.test"))
	wantOK(t, out)
	if out[0].RemoteMTA != "mx3.partner.test" || sink.Count() != 1 {
		t.Errorf("outcome %+v, sink count %d", out[0], sink.Count())
	}
}

func TestAllMXUnreachableIsTemporary(t *testing.T) {
	t.Parallel()
	res := &fakeResolver{
		mx:    map[string][]*net.MX{"partner.test": {{Host: "mx1.partner.test", Pref: 10}, {Host: "mx2.partner.test", Pref: 20}}},
		hosts: map[string][]string{"mx2.partner.test": {"127.0.0.1"}},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // a port where nothing listens
	c := newTestClient(t, Config{Resolver: res, Port: itoa(port)})
	e := wantFail(t, deliver(t, c, newDelivery("b@partner.test"))[0], false, "4.4.1")
	if e.Command != CmdConnect || e.Host != "mx2.partner.test" {
		t.Errorf("error %+v", e)
	}
}

func TestImplicitMX(t *testing.T) {
	t.Parallel()
	sink := smtpsink.Start(t, smtpsink.Options{})
	res := &fakeResolver{hosts: map[string][]string{"partner.test": {"127.0.0.1"}}}
	c := newTestClient(t, Config{Resolver: res, Port: sinkPort(t, sink)})
	out := deliver(t, c, newDelivery("b@partner.test"))
	wantOK(t, out)
	if out[0].RemoteMTA != "partner.test" {
		t.Errorf("remote MTA %q", out[0].RemoteMTA)
	}
}

func TestDNSFailures(t *testing.T) {
	t.Parallel()
	nx := &fakeResolver{}
	c := newTestClient(t, Config{Resolver: nx})
	e := wantFail(t, deliver(t, c, newDelivery("b@partner.test"))[0], true, "5.4.4")
	var de *net.DNSError
	if !errors.As(e, &de) || !de.IsNotFound {
		t.Errorf("NXDOMAIN error does not wrap the DNS error: %v", e)
	}
	servfail := &fakeResolver{mxErr: map[string]error{"partner.test": &net.DNSError{Err: "server misbehaving", IsTemporary: true}}}
	c = newTestClient(t, Config{Resolver: servfail})
	wantFail(t, deliver(t, c, newDelivery("b@partner.test"))[0], false, "4.4.3")
}

// Routes and the smarthost are used as configured, without DNS.
func TestRoutesNeedNoDNS(t *testing.T) {
	t.Parallel()
	sink := smtpsink.Start(t, smtpsink.Options{})
	res := &fakeResolver{}
	c := newTestClient(t, Config{Resolver: res, Routes: map[string]string{"PARTNER.test.": sink.Addr}})
	for range 3 {
		wantOK(t, deliver(t, c, newDelivery("b@partner.test")))
	}
	if res.lookups != 0 || sink.Count() != 3 {
		t.Errorf("%d DNS lookups, %d messages", res.lookups, sink.Count())
	}
}

func TestBadConfig(t *testing.T) {
	t.Parallel()
	for _, cfg := range []Config{
		{Hostname: "gw.test", Routes: map[string]string{"a.test": "no-port"}},
		{Hostname: "gw.test", Smarthost: ":25"},
		{Hostname: "gw test"},
		{Hostname: "gw.test\r\nMAIL FROM:<x@y>"},
	} {
		if c, err := New(cfg); err == nil {
			c.Close()
			t.Errorf("config %+v accepted", cfg)
		}
	}
}
