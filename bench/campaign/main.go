// Command campaign is the load generator and receiving MTA of
// bench/campaign.sh: it runs a loopback sink with STARTTLS, sends a
// campaign of personalised marketing messages to the MTA under test over
// STARTTLS from one source address, and transactional messages from
// another while the campaign is being accepted, then waits until the sink
// has every message. It prints one RESULT line: messages per second
// accepted and end to end, the time to the last delivery, the
// transactional messages' delivery latency, and how many messages reached
// the sink over TLS with a DKIM signature that verifies (a sample).
//
// Bounded: -n and -t messages, -timeout for the whole run; loopback only.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type options struct {
	mta, sink         string // host:port of the MTA under test and of the sink
	campaignIP, txnIP string // source addresses of the two clients
	n, t, c, mps      int    // campaign messages, transactional ones, lanes, messages per session
	domains           int
	from              string
	caFile            string // verifies the MTA's certificate
	certFile, keyFile string // the sink's certificate
	dkimPub           string // the signing domain's public key (PEM), to verify a sample
	selector          string
	sample            int // verify one message in sample
	timeout           time.Duration
	label             string
}

func parseFlags() options {
	var o options
	flag.StringVar(&o.mta, "mta", "127.0.0.1:20025", "MTA under test (host:port)")
	flag.StringVar(&o.sink, "sink", "127.0.0.1:20026", "sink listen address")
	flag.StringVar(&o.campaignIP, "campaign-ip", "127.0.0.2", "source address of the marketing client")
	flag.StringVar(&o.txnIP, "txn-ip", "127.0.0.3", "source address of the transactional client")
	flag.IntVar(&o.n, "n", 20000, "campaign messages")
	flag.IntVar(&o.t, "t", 100, "transactional messages, spread over the campaign")
	flag.IntVar(&o.c, "c", 20, "concurrent campaign sessions")
	flag.IntVar(&o.mps, "mps", 100, "messages per campaign session")
	flag.IntVar(&o.domains, "domains", 8, "destination domains")
	flag.StringVar(&o.from, "from", "news@clinic.bench.invalid", "envelope and header sender")
	flag.StringVar(&o.caFile, "ca", "", "CA certificate (PEM) of the MTA's STARTTLS certificate")
	flag.StringVar(&o.certFile, "cert", "", "sink certificate (PEM)")
	flag.StringVar(&o.keyFile, "key", "", "sink key (PEM)")
	flag.StringVar(&o.dkimPub, "dkim-pub", "", "DKIM public key (PEM) of the sender's domain")
	flag.StringVar(&o.selector, "selector", "bench", "DKIM selector")
	flag.IntVar(&o.sample, "sample", 50, "verify the DKIM signature of one message in this many")
	flag.DurationVar(&o.timeout, "timeout", 10*time.Minute, "bound of the whole run")
	flag.StringVar(&o.label, "label", "mta", "name printed in the RESULT line")
	flag.Parse()
	return o
}

func main() {
	o := parseFlags()
	if o.n < 1 || o.t < 0 || o.c < 1 || o.mps < 1 || o.domains < 1 || o.n > 1_000_000 || o.t > 10_000 {
		log.Fatal("campaign: bad counts")
	}
	for _, a := range []string{o.mta, o.sink} {
		if h, _, err := net.SplitHostPort(a); err != nil || !net.ParseIP(h).IsLoopback() {
			log.Fatalf("campaign: %s is not a loopback address", a)
		}
	}
	cert, err := tls.LoadX509KeyPair(o.certFile, o.keyFile)
	if err != nil {
		log.Fatalf("campaign: sink certificate: %v", err)
	}
	roots, err := loadPool(o.caFile)
	if err != nil {
		log.Fatalf("campaign: %v", err)
	}
	verify, err := newVerifier(o.dkimPub, o.selector)
	if err != nil {
		log.Fatalf("campaign: %v", err)
	}
	s, err := startSink(o.sink, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, verify, o.sample)
	if err != nil {
		log.Fatalf("campaign: sink: %v", err)
	}
	defer s.close()
	r := run(o, s, &tls.Config{RootCAs: roots, ServerName: "relay.bench.invalid", MinVersion: tls.VersionTLS12})
	fmt.Println(r.line(o))
	if !r.ok {
		os.Exit(1)
	}
}

func loadPool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA: no certificate in %s", file)
	}
	return pool, nil
}

// result is what one run measured.
type result struct {
	ok               bool
	failed           int64 // messages the MTA did not accept
	accept, lastDlv  time.Duration
	received         int
	plain            int // received without TLS
	signed, verified int
	sampled          int
	phi, phiPlain    int             // PHI notices received, of them without TLS
	phiTLS           map[string]int  // PHI notices by TLS version
	txn              []time.Duration // delivery latency of each transactional message
}

// run sends the campaign and the transactional messages and waits for the
// sink to have them all, within o.timeout.
func run(o options, s *sink, ctls *tls.Config) result {
	deadline := time.Now().Add(o.timeout)
	start := time.Now()
	var sent atomic.Int64 // campaign messages accepted so far
	var failed atomic.Int64
	txnAccepted := make([]time.Time, o.t)
	txnDone := make(chan struct{})
	go func() {
		defer close(txnDone)
		sendTransactional(o, ctls, &sent, txnAccepted, &failed, deadline)
	}()
	var wg sync.WaitGroup
	var next atomic.Int64
	for lane := range o.c {
		wg.Go(func() { sendLane(o, ctls, lane, &next, &sent, &failed, deadline) })
	}
	wg.Wait()
	<-txnDone
	r := result{failed: failed.Load(), accept: time.Since(start)}
	want := o.n + o.t - int(r.failed)
	for s.count() < want && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	st := s.stats()
	r.received, r.plain, r.signed, r.verified, r.sampled = st.received, st.plain, st.signed, st.verified, st.sampled
	r.phi, r.phiPlain, r.phiTLS = st.phi, st.phiPlain, st.phiTLS
	r.lastDlv = st.last.Sub(start)
	for i, at := range txnAccepted {
		if got, ok := st.txn[fmt.Sprintf("txn-%d", i)]; ok && !at.IsZero() {
			r.txn = append(r.txn, got.Sub(at))
		}
	}
	r.ok = r.failed == 0 && r.received == o.n+o.t && r.plain == 0 && r.signed == r.received &&
		r.verified == r.sampled && len(r.txn) == o.t && r.phi == phiCount(o.n) && r.phiPlain == 0
	return r
}

// line formats the RESULT line.
func (r result) line(o options) string {
	sort.Slice(r.txn, func(i, j int) bool { return r.txn[i] < r.txn[j] })
	pct := func(p float64) float64 {
		if len(r.txn) == 0 {
			return -1
		}
		return r.txn[min(int(p*float64(len(r.txn))), len(r.txn)-1)].Seconds()
	}
	ok := 0
	if r.ok {
		ok = 1
	}
	return strings.Join([]string{"RESULT",
		"mta=" + o.label, fmt.Sprintf("n=%d t=%d c=%d", o.n, o.t, o.c),
		fmt.Sprintf("accept_mps=%.1f", float64(o.n+o.t)/r.accept.Seconds()),
		fmt.Sprintf("e2e_mps=%.1f", float64(r.received)/r.lastDlv.Seconds()),
		fmt.Sprintf("accept_s=%.2f last_delivery_s=%.2f", r.accept.Seconds(), r.lastDlv.Seconds()),
		fmt.Sprintf("txn_p50_s=%.3f txn_p95_s=%.3f txn_max_s=%.3f", pct(0.5), pct(0.95), pct(1)),
		fmt.Sprintf("received=%d failed=%d plain=%d dkim_signed=%d dkim_verified=%d/%d", r.received, r.failed, r.plain, r.signed, r.verified, r.sampled),
		fmt.Sprintf("phi_sent=%d phi_received=%d phi_plain=%d phi_tls=%s", phiCount(o.n), r.phi, r.phiPlain, tlsCounts(r.phiTLS)),
		fmt.Sprintf("ok=%d", ok)}, " ")
}

// tlsCounts formats PHI counts by TLS version as "TLS_1.3:2000" ("none"
// when there are none).
func tlsCounts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for v, n := range m {
		parts = append(parts, fmt.Sprintf("%s:%d", strings.ReplaceAll(v, " ", "_"), n))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}
