package interop

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealgate/sealgate/passwd"
)

// Passwords of the two clients sealgate knows: the clinic's Postfix and an
// application.
const (
	clinicPass = "clinic relay password 2026"
	appPass    = "application password 2026"
	eximPass   = "exim relay password 2026"
)

// gateway is a sealgate serve process.
type gateway struct {
	bin, dir string
	smtp     string // the submission listener's address (AUTH required)
	relay    string // the relay listener's address (clients identified by certificate)
	cmd      *exec.Cmd
}

// buildSealgate compiles cmd/sealgate into dir.
func buildSealgate(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "sealgate")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/sealgate/sealgate/cmd/sealgate").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// dkimKey makes the signing key with `sealgate dkim keygen` and returns
// the TXT record line it prints.
func dkimKey(t *testing.T, bin, dir string) (keyPath, txt string) {
	t.Helper()
	cmd := exec.Command(bin, "dkim", "keygen", "--domain", "clinic.test", "--selector", "s1", "--dir", dir)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("dkim keygen: %v", err)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "*.pem"))
	if len(matches) != 1 {
		t.Fatalf("dkim keygen wrote %v", matches)
	}
	return matches[0], strings.TrimSpace(string(out))
}

// startGateway writes sealgate's configuration and starts it. dnsAddr is
// the loopback resolver every MX lookup goes to; clinicCert is the SHA-256
// fingerprint (hex) of the certificate the clinic's Postfix can present
// instead of a password; bounceAt is where the bounce listener listens.
func startGateway(t *testing.T, bin, dir, dnsAddr, dkimPath, clinicCert, bounceAt string) *gateway {
	t.Helper()
	hash, err := passwd.Hash([]byte(clinicPass))
	if err != nil {
		t.Fatal(err)
	}
	appHash, err := passwd.Hash([]byte(appPass))
	if err != nil {
		t.Fatal(err)
	}
	eximHash, err := passwd.Hash([]byte(eximPass))
	if err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`hostname: gw.clinic.test
data_dir: %[1]s/data
listeners:
  - {name: submission, address: "127.0.0.1:0", tls: starttls, auth: required}
  - {name: relay, address: "127.0.0.1:0", tls: starttls, auth: none}
tls: {cert: %[1]s/cert.pem, key: %[1]s/key.pem}
clients:
  # The clinic's Postfix: its users, the bounces it sends (null sender,
  # header From MAILER-DAEMON@ its myhostname).
  - {name: clinic-mta, username: clinic, password_hash: "%[2]s", allowed_senders: ["*@clinic.test", "*@mx.clinic.test", "<>"]}
  - {name: clinic-mta-cert, cert_fingerprints: ["%[6]s"], allowed_senders: ["*@clinic.test", "*@*.clinic.test", "<>"]}
  - {name: app, username: app, password_hash: "%[3]s", allowed_senders: ["*@clinic.test"]}
  - {name: exim-mta, username: exim-mta, password_hash: "%[7]s", allowed_senders: ["*@exim.test"]}
  # A campaign tool: its mail leaves with a bounce address per recipient.
  - {name: news, kind: marketing, username: news, password_hash: "%[3]s", allowed_senders: ["*@clinic.test"]}
delivery:
  tls: {ca_file: %[1]s/ca.pem, policy: {default: encrypt}}
  dns: {servers: ["%[4]s"]}
  retry: {schedule: [1s, 2s], max_age: 1h}
dkim:
  - {domain: clinic.test, selector: s1, key: %[5]s}
metrics: {listen: "127.0.0.1:0"}
log: {audit_file: %[1]s/audit.log}
portal: {base_url: "https://localhost:8443"}
bounces: {domain: bounce.clinic.test, listen: "%[8]s"}
`, dir, hash, appHash, dnsAddr, dkimPath, clinicCert, eximHash, bounceAt)
	path := filepath.Join(dir, "sealgate.yaml")
	write(t, path, cfg)
	g := &gateway{bin: bin, dir: dir}
	g.start(t, path)
	return g
}

// start runs `sealgate serve` and waits (at most 30 s) for the line that
// names the submission listener's address.
func (g *gateway) start(t *testing.T, cfg string) {
	t.Helper()
	logf, err := os.Create(filepath.Join(g.dir, "gateway.log"))
	if err != nil {
		t.Fatal(err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	g.cmd = exec.Command(g.bin, "serve", "--config", cfg)
	g.cmd.Stdout, g.cmd.Stderr = pw, logf
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	t.Cleanup(func() {
		_ = g.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = g.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = g.cmd.Process.Kill()
			<-done
		}
		logf.Close()
	})
	// serve prints one line per listener; the relay listener's comes last.
	addrs := make(chan [2]string, 2)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			for _, name := range []string{"submission", "relay"} {
				if a, ok := strings.CutPrefix(sc.Text(), "sealgate: SMTP "+name+" on "); ok {
					addrs <- [2]string{name, strings.Fields(a)[0]}
				}
			}
		}
		close(addrs)
	}()
	timeout := time.After(30 * time.Second)
	for g.smtp == "" || g.relay == "" {
		select {
		case a, ok := <-addrs:
			if !ok {
				t.Fatalf("sealgate did not start:\n%s", g.log())
			}
			if a[0] == "submission" {
				g.smtp = a[1]
			} else {
				g.relay = a[1]
			}
		case <-timeout:
			t.Fatalf("sealgate did not start:\n%s", g.log())
		}
	}
}

// log is sealgate's operational log so far.
func (g *gateway) log() string {
	b, _ := os.ReadFile(filepath.Join(g.dir, "gateway.log"))
	return string(b)
}
