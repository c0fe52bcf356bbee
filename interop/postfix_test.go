package interop

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealgate/sealgate/internal/testenv"
)

// postfix is a private Postfix instance: its own configuration folder,
// queue, data folder and log file under dir, started with postfix -c, so
// the system's Postfix (if any) is neither used nor touched.
type postfix struct {
	name, dir string
	bin       string
}

// postfixServices is master.cf without chroot (the instance's files are not
// in a chroot jail) and with postlogd, so the log goes to maillog_file
// without syslog; tlsproxy lets the SMTP client keep TLS connections in
// its connection cache.
const postfixServices = `pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
tlsproxy  unix  -       -       n       -       0       tlsproxy
postlog   unix-dgram n  -       n       -       1       postlogd
`

// startPostfix writes main.cf (common settings, then extra) and master.cf
// (an smtpd on each listen line — "address:port" and options — then the
// services) and starts the instance. Every recipient of domains is
// delivered to one Maildir, dir/mail/inbox.
func startPostfix(t *testing.T, tl tools, dir, name string, listen []string, domains, extra string) *postfix {
	t.Helper()
	p := &postfix{name: name, dir: dir, bin: tl.postfix}
	for _, d := range []string{"conf", "queue", "data", "mail"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	chown(t, "postfix", filepath.Join(dir, "data"))
	chown(t, "nobody", filepath.Join(dir, "mail"))
	uid, gid := ids(t, "nobody")
	main := fmt.Sprintf(`compatibility_level = 3.6
queue_directory = %[1]s/queue
data_directory = %[1]s/data
mail_owner = postfix
syslog_name = postfix-%[2]s
maillog_file = %[1]s/maillog
maillog_file_prefixes = %[1]s
inet_interfaces = all
smtp_bind_address = %[3]s
inet_protocols = ipv4
mydestination =
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
smtputf8_enable = yes
virtual_mailbox_domains = %[4]s
virtual_mailbox_base = %[1]s/mail
virtual_mailbox_maps = static:inbox/
virtual_uid_maps = static:%[5]d
virtual_gid_maps = static:%[6]d
virtual_minimum_uid = 100
smtpd_tls_cert_file = %[1]s/cert.pem
smtpd_tls_key_file = %[1]s/key.pem
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
delay_warning_time = 0
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
`, dir, name, hostOf(strings.Fields(listen[0])[0]), domains, uid, gid) + extra
	write(t, filepath.Join(dir, "conf/main.cf"), main)
	var services strings.Builder
	for _, l := range listen {
		addr, opts, _ := strings.Cut(l, " ")
		services.WriteString(addr + " inet n - n - - smtpd " + opts + "\n")
	}
	write(t, filepath.Join(dir, "conf/master.cf"), services.String()+postfixServices)
	if out, err := p.cmd("start").CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "maillog"))
		t.Fatalf("postfix %s start: %v\n%s\n%s", name, err, out, log)
	}
	t.Cleanup(p.stop)
	for _, l := range listen {
		waitListen(t, strings.Fields(l)[0])
	}
	return p
}

func (p *postfix) cmd(args ...string) *exec.Cmd {
	return exec.Command(p.bin, append([]string{"-c", filepath.Join(p.dir, "conf")}, args...)...)
}

// stop stops the instance and waits (bounded) for its master to exit.
func (p *postfix) stop() {
	pidFile := filepath.Join(p.dir, "queue/pid/master.pid")
	b, _ := os.ReadFile(pidFile)
	_ = p.cmd("stop").Run()
	pid := strings.TrimSpace(string(b))
	if pid == "" {
		return
	}
	if testenv.Poll(10*time.Second, func() bool { _, err := os.Stat("/proc/" + pid); return err != nil }) {
		return
	}
	_ = exec.Command("kill", "-9", pid).Run()
}

// log returns the instance's log so far.
func (p *postfix) log() string {
	b, _ := os.ReadFile(filepath.Join(p.dir, "maillog"))
	return string(b)
}

// inbox returns the messages in the instance's Maildir (new/).
func (p *postfix) inbox(t *testing.T) []mail {
	return readMaildir(t, filepath.Join(p.dir, "mail/inbox"))
}
