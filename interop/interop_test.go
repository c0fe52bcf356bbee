package interop

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealgate/sealgate/dnsclient/dnstest"
	"github.com/sealgate/sealgate/internal/smtpsink"
)

// world is the running topology: the clinic's Postfix in front of
// sealgate, Postfix (dest.test) and Exim (exim.test) behind it, and the
// loopback DNS server they are found through.
type world struct {
	tl       tools
	dir      string
	dns      *dnstest.Server
	resolv   string // a resolv.conf naming the DNS server
	ca       *smtpsink.TestCA
	gw       *gateway
	clinic   *postfix // the clinic's MTA, relaying to sealgate
	mx       *postfix // dest.test's MX
	ex       *exim    // exim.test's MX
	clinicIP string
	// bounceIP is where sealgate's bounce listener takes the DSNs of
	// bounce.clinic.test on port 25.
	bounceIP string
}

// Loopback addresses and ports each peer binds (dnstest.IPN derives them
// from the test name, away from other packages' tests).
func newWorld(t *testing.T) *world {
	tl := findTools(t)
	dir, err := os.MkdirTemp("", "sealgate-interop-")
	if err != nil {
		t.Fatal(err)
	}
	// The peers' unprivileged users must reach their folders.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if (t.Failed() && !inCI()) || os.Getenv("SEALGATE_INTEROP_KEEP") != "" {
			t.Logf("interop: work folder kept: %s", dir)
			return
		}
		os.RemoveAll(dir)
	})
	w := &world{tl: tl, dir: dir, ca: smtpsink.NewTestCA(t)}
	dnsIP, mxIP, eximIP, noDSNIP := dnstest.IPN(t, 0), dnstest.IPN(t, 1), dnstest.IPN(t, 2), dnstest.IPN(t, 4)
	w.clinicIP, w.bounceIP = dnstest.IPN(t, 3), dnstest.IPN(t, 5)
	w.dns = dnstest.StartOn(t, dnsIP)
	w.resolv = filepath.Join(dir, "resolv.conf")
	write(t, w.resolv, "nameserver "+dnsIP+"\noptions timeout:2 attempts:2\n")
	w.dns.Add(t,
		"dest.test. 300 IN MX 10 mx.dest.test.", "mx.dest.test. 300 IN A "+mxIP,
		"exim.test. 300 IN MX 10 mx.exim.test.", "mx.exim.test. 300 IN A "+eximIP,
		"clinic.test. 300 IN MX 10 mx.clinic.test.", "mx.clinic.test. 300 IN A "+w.clinicIP,
		"nodsn.test. 300 IN MX 10 mx.nodsn.test.", "mx.nodsn.test. 300 IN A "+noDSNIP,
		"gone.test. 300 IN MX 10 mx.dest.test.")

	sg := w.sub(t, "sealgate")
	bin := buildSealgate(t, sg)
	keyPath, txt := dkimKey(t, bin, sg)
	w.dns.Add(t, txt)
	w.certs(t, sg, "gw.clinic.test", "127.0.0.1")
	clDir := w.sub(t, "postfix-clinic")
	clientCert := w.ca.Leaf(t, "mx.clinic.test")
	writeCertAs(t, clDir, "client", clientCert)
	fp := sha256.Sum256(clientCert.Certificate[0])
	w.gw = startGateway(t, bin, sg, w.dns.Addr, keyPath, hex.EncodeToString(fp[:]), w.bounceIP+":25")

	mxDir := w.sub(t, "postfix-mx")
	w.certs(t, mxDir, "mx.dest.test", mxIP)
	// nodsn.test's MX is the same Postfix on another address, with the DSN
	// extension hidden from EHLO: a next hop without DSN. gone.test is a
	// domain it takes mail for and then cannot deliver (no such mailbox):
	// the asynchronous bounce goes back to the envelope sender, which for
	// campaign mail is a bounce address of bounce.clinic.test, routed (as
	// clinic.test is: this Postfix does not use the loopback DNS) to
	// sealgate's bounce listener.
	w.mx = startPostfix(t, tl, mxDir, "mx", []string{mxIP + ":25", noDSNIP + ":25 -o smtpd_discard_ehlo_keywords=dsn"},
		"dest.test, nodsn.test", fmt.Sprintf(`myhostname = mx.dest.test
relay_domains = gone.test
# take gone.test's recipients at RCPT; the error transport bounces them later
smtpd_reject_unlisted_recipient = no
transport_maps = inline:{ { clinic.test = smtp:[%s]:25 }, { gone.test = error:5.1.1 mailbox unknown }, { bounce.clinic.test = smtp:[%s]:25 } }
`, w.clinicIP, w.bounceIP))

	exDir := w.sub(t, "exim")
	w.certs(t, exDir, "mx.exim.test", eximIP)
	w.ex = startExim(t, tl, exDir, eximIP, w.clinicIP, w.gw.smtp[strings.LastIndexByte(w.gw.smtp, ':')+1:])

	w.certs(t, clDir, "mx.clinic.test", w.clinicIP)
	write(t, filepath.Join(clDir, "ca.pem"), string(w.ca.CertPEM()))
	relay := "[127.0.0.1]:" + w.gw.smtp[strings.LastIndexByte(w.gw.smtp, ':')+1:]
	write(t, filepath.Join(clDir, "sasl_passwd"), relay+" clinic:"+clinicPass+"\n")
	w.clinic = startPostfix(t, tl, clDir, "clinic", []string{w.clinicIP + ":25"}, "clinic.test", clinicRelay(clDir, relay))
	return w
}

// clinicRelay is the clinic Postfix's relay configuration, as docs/interop.md
// describes it: relayhost, SASL over TLS only, TLS required, connection
// caching (TLS connections included), one connection at a time to
// sealgate so that queued messages share a connection.
func clinicRelay(dir, relay string) string {
	return fmt.Sprintf(`myhostname = mx.clinic.test
myorigin = clinic.test
relayhost = %[2]s
smtp_sasl_auth_enable = yes
smtp_sasl_password_maps = texthash:%[1]s/sasl_passwd
smtp_sasl_security_options = noanonymous
smtp_sasl_tls_security_options = noanonymous
smtp_tls_security_level = encrypt
smtp_tls_CAfile = %[1]s/ca.pem
smtp_tls_loglevel = 1
smtp_connection_cache_destinations = %[2]s
smtp_tls_connection_reuse = yes
smtp_destination_concurrency_limit = 1
`, dir, relay)
}

func (w *world) sub(t *testing.T, name string) string {
	t.Helper()
	d := filepath.Join(w.dir, name)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

// certs writes a certificate from the test CA for names into dir, and the
// CA as ca.pem.
func (w *world) certs(t *testing.T, dir string, names ...string) {
	t.Helper()
	writeCert(t, dir, w.ca.Leaf(t, names...))
	write(t, filepath.Join(dir, "ca.pem"), string(w.ca.CertPEM()))
}

// tlsConfig trusts the test CA for name.
func (w *world) tlsConfig(name string) *tls.Config {
	return &tls.Config{RootCAs: w.ca.Pool(), ServerName: name}
}

// TestRealPeers runs the whole topology once and checks each path.
func TestRealPeers(t *testing.T) {
	if testing.Short() {
		t.Skip("interop suite runs real MTAs; skipped with -short")
	}
	start := time.Now()
	w := newWorld(t)
	t.Logf("interop: topology up in %v", time.Since(start).Round(time.Millisecond))
	r := &results{}
	t.Run("clinic postfix relays through sealgate", func(t *testing.T) { w.clinicPath(t, r) })
	t.Run("exim relays through sealgate", func(t *testing.T) { w.eximPath(t, r) })
	t.Run("nodemailer application", func(t *testing.T) { w.nodemailerPath(t, r) })
	t.Run("python smtplib application", func(t *testing.T) { w.smtplibPath(t, r) })
	t.Run("dkim", func(t *testing.T) { w.checkDKIM(t, r) })
	t.Run("no duplicates", func(t *testing.T) { w.checkDuplicates(t, r) })
	t.Run("asynchronous bounce from postfix", w.asyncBounce)
	t.Run("sealgate log", w.checkLog)
	r.mxTLSSessions = strings.Count(w.mx.log(), "TLS connection established from")
	for _, l := range w.ex.received() {
		if strings.Contains(l, " X=TLS1.") {
			r.eximTLSArrivals++
		}
	}
	t.Logf("interop counts: %s (%v)", r, time.Since(start).Round(time.Millisecond))
}
