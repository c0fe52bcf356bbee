package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/internal/testenv"
)

// buildBinary compiles sealgate once for tests that run it as a process.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "sealgate")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// crashConfig is a plaintext loopback relay for the ehr network client,
// delivering everything to the sink.
func crashConfig(t *testing.T, dir, listen, sink string) string {
	yaml := fmt.Sprintf(`hostname: gw.example.org
data_dir: %[1]s/data
listeners:
  - {name: relay, address: "%[2]s", tls: none, auth: none}
clients:
  - {name: ehr, networks: ["127.0.0.0/8"], allowed_senders: ["*@clinic.example.org"]}
delivery:
  routes: {"example.net": "%[3]s"}
  tls: {policy: {default: may}}
  retry: {schedule: [200ms], max_age: 1h}
encryption: {order: [pgp, smime, tls]}
metrics: {listen: ""}
limits: {connections_per_client_per_minute: 0}
`, dir, listen, sink)
	path := filepath.Join(dir, "sealgate.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startProcess runs `sealgate serve` and waits until it announces its
// relay listener on stdout; it returns the process and that address. The
// config listens on 127.0.0.1:0, so the gateway binds a port of its own:
// no port is picked, freed and bound again later (which another test may
// take in between), and a start is never mistaken for some other
// program's listener on the same port. Stdout and stderr go to cfg+".log".
func startProcess(t *testing.T, bin, cfg string) (*exec.Cmd, string) {
	t.Helper()
	logf, err := os.OpenFile(cfg+".log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--config", cfg)
	cmd.Stdout, cmd.Stderr = pw, logf
	err = cmd.Start()
	pw.Close()
	if err != nil {
		pr.Close()
		t.Fatal(err)
	}
	announced := make(chan string, 1)
	exited := make(chan struct{}) // stdout closed: the process ended
	go func() {
		defer close(exited)
		defer pr.Close()
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logf, line)
			if a, ok := strings.CutPrefix(line, "sealgate: SMTP relay on "); ok {
				select {
				case announced <- strings.Fields(a)[0]:
				default:
				}
			}
		}
	}()
	select {
	case a := <-announced:
		return cmd, a
	case <-exited:
	case <-time.After(30 * time.Second):
	}
	cmd.Process.Kill()
	cmd.Wait()
	log, _ := os.ReadFile(cfg + ".log")
	t.Fatalf("gateway did not start:\n%s", log)
	return nil, ""
}

// TestKill9NeverLosesAcceptedMail sends messages from several clients while
// the gateway is killed with SIGKILL at random moments and restarted: every
// message that was answered 250 must reach the sink (a duplicate is
// allowed, a loss is not).
func TestKill9NeverLosesAcceptedMail(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test runs the built binary; skipped with -short")
	}
	t.Parallel()
	bin := buildBinary(t)
	sink := smtpsink.Start(t, smtpsink.Options{})
	dir := t.TempDir()
	cfg := crashConfig(t, dir, "127.0.0.1:0", sink.Addr)

	var acked sync.Map
	var sent, ok atomic.Int32
	// listen is the running gateway's address, "" while it is down: each
	// start binds a new port, and senders never dial a port that was freed.
	var listen atomic.Pointer[string]
	none := ""
	listen.Store(&none)
	stop := make(chan struct{})
	stopSenders := sync.OnceFunc(func() { close(stop) })
	defer stopSenders() // also when a restart fails: senders wait for an address while it is ""
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			sender(w, func() string { return *listen.Load() }, stop, &acked, &sent, &ok)
		}(w)
	}
	start := func() *exec.Cmd {
		p, addr := startProcess(t, bin, cfg)
		listen.Store(&addr) // a new string each time: senders read the old one
		return p
	}
	proc := start()
	for round := 0; round < 4; round++ {
		// Each run acknowledges some mail before it is killed, however
		// loaded the machine; the kill then comes at a random moment.
		before := ok.Load()
		testenv.WaitFor(t, 60*time.Second, "the gateway to acknowledge mail before it is killed", func() bool {
			return ok.Load() >= before+15
		})
		time.Sleep(time.Duration(rand.IntN(400)) * time.Millisecond)
		listen.Store(&none)
		proc.Process.Kill() // SIGKILL
		proc.Wait()
		proc = start()
	}
	stopSenders()
	wg.Wait()
	defer func() { proc.Process.Signal(os.Interrupt); proc.Wait() }()

	want := int(ok.Load())
	if want < 50 {
		t.Fatalf("only %d messages acknowledged: the test did not exercise the gateway", want)
	}
	missing, _ := waitAllAcked(sink, &acked, 60*time.Second)
	t.Logf("sent %d, acknowledged %d, sink received %d (duplicates allowed)", sent.Load(), want, sink.Count())
	if len(missing) > 0 {
		t.Fatalf("%d acknowledged messages lost, e.g. %s", len(missing), strings.Join(missing[:min(5, len(missing))], " "))
	}
}

// waitAllAcked waits, bounded by within, until the sink holds a message
// with each Message-ID in acked (keys without angle brackets), and returns
// the IDs still missing then and the sink's Message-ID counts.
func waitAllAcked(sink *smtpsink.Sink, acked *sync.Map, within time.Duration) (missing []string, got map[string]int) {
	testenv.Poll(within, func() bool {
		got = messageIDs(sink.Messages())
		missing = missing[:0]
		acked.Range(func(k, _ any) bool {
			if got["<"+k.(string)+">"] == 0 {
				missing = append(missing, k.(string))
			}
			return true
		})
		return len(missing) == 0
	})
	return missing, got
}

// sender sends messages on one connection after another until stop, and
// records the Message-IDs the gateway acknowledged with 250.
// listen returns the gateway's address, or "" while it is restarting.
func sender(w int, listen func() string, stop chan struct{}, acked *sync.Map, sent, ok *atomic.Int32) {
	connectLoop(400, listen, stop, nil, func(c *smtp.Client, i int) {
		for j := 0; j < 5; j++ {
			id := fmt.Sprintf("crash-%d-%d-%d@clinic.example.org", w, i, j)
			msg := fmt.Sprintf("From: lab@clinic.example.org\r\nTo: dr@example.net\r\nSubject: r\r\nMessage-ID: <%s>\r\n\r\nbody %d\r\n", id, j)
			sent.Add(1)
			if err := c.SendMail("lab@clinic.example.org", []string{"dr@example.net"}, strings.NewReader(msg)); err != nil {
				break
			}
			acked.Store(id, true)
			ok.Add(1)
		}
	})
}

// connectLoop opens up to budget SMTP connections to the gateway, one
// after another, until stop, and hands each to session with its number
// before closing it. listen gives the gateway's address, or "" while it
// restarts: waiting for it spends none of the budget. A connection that
// cannot be made is reported to dialFailed (when set) and costs a pause.
func connectLoop(budget int, listen func() string, stop <-chan struct{}, dialFailed func(), session func(c *smtp.Client, i int)) {
	for i := 0; i < budget; i++ {
		select {
		case <-stop:
			return
		default:
		}
		address := listen()
		if address == "" {
			time.Sleep(20 * time.Millisecond)
			i-- // waiting for a restart is not a connection attempt
			continue
		}
		c, err := smtp.Dial(address)
		if err != nil {
			if dialFailed != nil {
				dialFailed()
			}
			time.Sleep(20 * time.Millisecond)
			continue
		}
		session(c, i)
		c.Close()
	}
}
