// Command spoolsoak runs `sealgate serve` through repeated kill -9 cycles
// under SMTP load, all on loopback, and reports whether every message the
// gateway answered 250 was delivered: accepted, delivered, lost and
// duplicated. bench/spool-soak.sh builds sealgate and this program and runs
// it; see that script for the knobs.
//
// One run: a receiver (sink) on 127.0.0.1 that defers a share of the
// recipients with 451 and holds a share of the deliveries for a moment,
// so that kills land while mail is queued, retried and in flight; a
// bounded number of senders that send one-recipient messages, each with
// its own Message-ID, for as long as the run lasts and at most a set
// number of messages; and the gateway, started, killed with SIGKILL after
// a random time, started again, for the given number of cycles. After the
// last cycle the load stops, the sink stops deferring, and the gateway
// runs until every accepted message has arrived or the drain time is up;
// then it is stopped with SIGTERM.
//
// The exit status is 0 when nothing was lost and every start succeeded,
// 1 otherwise, 2 on a usage or set-up error.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// options are the command-line flags.
type options struct {
	sealgate    string
	dir         string
	cycles      int
	senders     int
	size        int
	minUp       time.Duration
	maxUp       time.Duration
	deferShare  float64
	slowShare   float64
	maxMessages int
	drain       time.Duration
}

func parseFlags() options {
	var o options
	flag.StringVar(&o.sealgate, "sealgate", "", "the sealgate binary (required)")
	flag.StringVar(&o.dir, "dir", "", "work folder on a real disk; the data folder and logs go here (required)")
	flag.IntVar(&o.cycles, "cycles", 50, "kill -9 cycles")
	flag.IntVar(&o.senders, "senders", 4, "concurrent SMTP senders")
	flag.IntVar(&o.size, "size", 4096, "approximate message size in bytes")
	flag.DurationVar(&o.minUp, "min-up", 300*time.Millisecond, "shortest time the gateway runs before a kill")
	flag.DurationVar(&o.maxUp, "max-up", 1500*time.Millisecond, "longest time the gateway runs before a kill")
	flag.Float64Var(&o.deferShare, "defer", 0.2, "share of recipients the sink defers with 451 during the cycles")
	flag.Float64Var(&o.slowShare, "slow", 0.05, "share of deliveries the sink holds for 200ms before answering")
	flag.IntVar(&o.maxMessages, "max-messages", 200000, "most messages sent in the whole run")
	flag.DurationVar(&o.drain, "drain", 120*time.Second, "longest wait for delivery after the last cycle")
	flag.Parse()
	if o.sealgate == "" || o.dir == "" || o.cycles < 1 || o.senders < 1 || o.minUp <= 0 || o.maxUp < o.minUp {
		flag.Usage()
		os.Exit(2)
	}
	return o
}

func main() {
	o := parseFlags()
	sink, err := startSink(o.deferShare, o.slowShare)
	if err != nil {
		fatal(err)
	}
	defer sink.close()
	cfg, err := writeConfig(o.dir, sink.addr)
	if err != nil {
		fatal(err)
	}
	gw := &gateway{bin: o.sealgate, cfg: cfg, logPath: filepath.Join(o.dir, "gateway.log")}
	defer gw.kill()
	ld := newLoad(o)
	res := run(o, gw, sink, ld)
	res.print(os.Stdout)
	if res.lost > 0 || res.startErr != nil {
		os.Exit(1)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "spoolsoak:", err)
	os.Exit(2)
}

// run does the cycles and the drain and returns what was seen.
func run(o options, gw *gateway, sink *sink, ld *load) *result {
	res := &result{want: o.cycles}
	began := time.Now()
	if res.startErr = gw.start(); res.startErr != nil {
		return res
	}
	ld.setAddr(gw.addr)
	ld.start()
	for c := 0; c < o.cycles; c++ {
		up := o.minUp + rand.N(o.maxUp-o.minUp+1)
		time.Sleep(up)
		ld.setAddr("")
		gw.kill()
		if res.startErr = gw.start(); res.startErr != nil {
			ld.stop()
			res.collect(ld, sink)
			return res
		}
		ld.setAddr(gw.addr)
		res.cycles++
	}
	res.cyclesTook = time.Since(began)
	ld.stop()
	sink.deferShare.Store(0)
	drainStart := time.Now()
	deadline := drainStart.Add(o.drain)
	for time.Now().Before(deadline) && sink.missing(ld) > 0 {
		time.Sleep(200 * time.Millisecond)
	}
	res.drainTook = time.Since(drainStart)
	res.stopErr = gw.stop(30 * time.Second)
	res.collect(ld, sink)
	return res
}

// gateway is the sealgate process under test.
type gateway struct {
	bin, cfg, logPath string
	cmd               *exec.Cmd
	addr              string
	starts            int
}

// start runs `sealgate serve` and waits (at most 30 s) for it to announce
// its relay listener on standard output.
func (g *gateway) start() error {
	logf, err := os.OpenFile(g.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(g.bin, "serve", "--config", g.cfg)
	cmd.Stderr = logf
	// The gateway dies with this program, whatever ends it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	g.starts++
	g.cmd = cmd
	announced := make(chan string, 1)
	exited := make(chan struct{}) // standard output closed: the process ended
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "sealgate: SMTP relay on "); ok {
				select {
				case announced <- strings.Fields(a)[0]:
				default:
				}
			}
		}
	}()
	select {
	case g.addr = <-announced:
		return nil
	case <-exited:
		g.kill()
		return fmt.Errorf("start %d: the gateway exited before it announced its listener (log: %s)", g.starts, g.logPath)
	case <-time.After(30 * time.Second):
		g.kill()
		return fmt.Errorf("start %d: the gateway did not announce its listener within 30 s (log: %s)", g.starts, g.logPath)
	}
}

// kill ends the gateway with SIGKILL and reaps it.
func (g *gateway) kill() {
	if g.cmd == nil {
		return
	}
	g.cmd.Process.Kill()
	g.cmd.Wait()
	g.cmd, g.addr = nil, ""
}

// stop ends the gateway with SIGTERM, and SIGKILL after timeout.
func (g *gateway) stop(timeout time.Duration) error {
	if g.cmd == nil {
		return nil
	}
	cmd := g.cmd
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		g.cmd = nil
		return err
	case <-time.After(timeout):
		g.kill()
		return fmt.Errorf("the gateway did not stop within %v of SIGTERM", timeout)
	}
}

// writeConfig writes a plaintext loopback relay for the sender network
// that routes example.net to the sink.
func writeConfig(dir, sinkAddr string) (string, error) {
	yaml := fmt.Sprintf(`hostname: gw.example.org
data_dir: %[1]s/data
listeners:
  - {name: relay, address: "127.0.0.1:0", tls: none, auth: none}
clients:
  - {name: soak, networks: ["127.0.0.0/8"], allowed_senders: ["*@clinic.example.org"]}
delivery:
  routes: {"example.net": "%[2]s"}
  tls: {policy: {default: may}}
  retry: {schedule: [1s], max_age: 24h}
encryption: {order: [tls]}
metrics: {listen: ""}
log: {level: warn}
limits: {connections_per_client_per_minute: 0}
`, dir, sinkAddr)
	path := filepath.Join(dir, "sealgate.yaml")
	return path, os.WriteFile(path, []byte(yaml), 0o600)
}

// load is the bounded set of SMTP senders.
type load struct {
	o       options
	addr    atomic.Pointer[string] // "" while the gateway is down
	stopped chan struct{}
	wg      sync.WaitGroup
	budget  atomic.Int64 // messages left to send in the whole run

	mu      sync.Mutex
	acked   map[string]bool // Message-IDs answered 250
	sent    int
	refused int // any other SMTP reply
	broken  int // connection refused, lost or timed out mid-transaction
}

func newLoad(o options) *load {
	l := &load{o: o, stopped: make(chan struct{}), acked: map[string]bool{}}
	l.budget.Store(int64(o.maxMessages))
	l.setAddr("")
	return l
}

func (l *load) setAddr(a string) { l.addr.Store(&a) }

func (l *load) start() {
	for w := 0; w < l.o.senders; w++ {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			l.sender(w)
		}()
	}
}

func (l *load) stop() {
	close(l.stopped)
	l.wg.Wait()
}

// ackedIDs returns the Message-IDs answered 250.
func (l *load) ackedIDs() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	ids := make([]string, 0, len(l.acked))
	for id := range l.acked {
		ids = append(ids, id)
	}
	return ids
}

// record files the outcome of one message.
func (l *load) record(id string, ok, smtpReply bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sent++
	switch {
	case ok:
		l.acked[id] = true
	case smtpReply:
		l.refused++
	default:
		l.broken++
	}
}
