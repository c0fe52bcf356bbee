package interop

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// exim is a private Exim (Debian's exim4-daemon-light binary) receiving
// for exim.test on listen, with its own configuration, spool and logs
// under dir. Started by root with -C it binds its port, then runs its
// deliveries as Debian-exim.
type exim struct {
	dir  string
	addr string // ip:25
	cmd  *exec.Cmd
}

// startExim writes the configuration and starts the daemon on ip:25.
// Success notices it owes to clinic.test go back to the clinic's MTA at
// clinicIP. It refuses nobody@exim.test with 550 5.1.1. It is also an MTA
// that relays to sealgate: mail from loopback for dest.test goes to
// sealgate's submission port (relayPort) as a smarthost, with TLS verified
// against ca.pem and AUTH PLAIN only after TLS.
func startExim(t *testing.T, tl tools, dir, ip, clinicIP, relayPort string) *exim {
	t.Helper()
	for _, d := range []string{"spool", "log", "mail"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
		chown(t, "Debian-exim", filepath.Join(dir, d))
	}
	conf := fmt.Sprintf(`exim_path = %[1]s
primary_hostname = mx.exim.test
exim_user = Debian-exim
exim_group = Debian-exim
never_users = root
spool_directory = %[2]s/spool
log_file_path = %[2]s/log/%%slog
daemon_smtp_ports = 25
local_interfaces = %[3]s
domainlist local_domains = exim.test
tls_advertise_hosts = *
tls_certificate = %[2]s/cert.pem
tls_privatekey = %[2]s/key.pem
smtputf8_advertise_hosts = *
dsn_advertise_hosts = *
acl_smtp_rcpt = acl_rcpt
log_selector = +tls_cipher +received_recipients +smtp_connection +received_sender
keep_environment =
host_lookup =
rfc1413_hosts =
begin acl
acl_rcpt:
  deny local_parts = nobody
       message = 5.1.1 no such user
  accept domains = +local_domains
  accept domains = dest.test
         hosts = 127.0.0.0/8
  deny message = relay not permitted
begin routers
sealgate:
  driver = manualroute
  domains = dest.test
  route_list = * 127.0.0.1
  transport = sealgate_smtp
clinic:
  driver = manualroute
  domains = clinic.test
  route_list = * %[4]s
  transport = remote_smtp
local:
  driver = accept
  domains = +local_domains
  transport = maildir
begin transports
sealgate_smtp:
  driver = smtp
  port = %[5]s
  hosts_require_tls = *
  hosts_require_auth = *
  tls_verify_certificates = %[2]s/ca.pem
  tls_verify_hosts = *
  tls_verify_cert_hostnames = :
remote_smtp:
  driver = smtp
  port = 25
maildir:
  driver = appendfile
  directory = %[2]s/mail/inbox
  maildir_format
  create_directory
  user = Debian-exim
  group = Debian-exim
begin retry
* * F,1h,1s
begin authenticators
plain:
  driver = plaintext
  public_name = PLAIN
  client_condition = ${if def:tls_out_cipher}
  client_send = ^exim-mta^%[6]s
`, tl.exim, dir, ip, clinicIP, relayPort, eximPass)
	path := filepath.Join(dir, "exim.conf")
	write(t, path, conf)
	e := &exim{dir: dir, addr: ip + ":25"}
	e.cmd = exec.Command(tl.exim, "-C", path, "-bdf", "-q2s")
	out, _ := os.Create(filepath.Join(dir, "stderr.log"))
	e.cmd.Stdout, e.cmd.Stderr = out, out
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = e.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = e.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = e.cmd.Process.Kill()
			<-done
		}
		out.Close()
	})
	waitListen(t, ip+":25")
	return e
}

// mainlog is Exim's main log so far.
func (e *exim) mainlog() string {
	b, _ := os.ReadFile(filepath.Join(e.dir, "log/mainlog"))
	return string(b)
}

// received are the mainlog's arrival ("<=") lines.
func (e *exim) received() []string {
	var out []string
	for _, l := range strings.Split(e.mainlog(), "\n") {
		if strings.Contains(l, " <= ") {
			out = append(out, l)
		}
	}
	return out
}

func (e *exim) inbox(t *testing.T) []mail {
	return readMaildir(t, filepath.Join(e.dir, "mail/inbox"))
}
