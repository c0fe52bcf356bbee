package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealgate/sealgate/dkim"
	"github.com/sealgate/sealgate/dnsclient/dnstest"
	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/mtasts/ststest"
	"github.com/sealgate/sealgate/senderdns"
)

// TestDNSCheckCommand runs `sealgate dns check` against a loopback DNS
// server: first with nothing published (every check missing, exit 1, the
// records to publish printed), then with exactly the records it printed
// plus an MTA-STS policy host and a PTR record, after which every check
// passes. The policy host listens on a free loopback port, which the
// command's MTA-STS fetch is told (dnsCheckOptions), so no root is needed.
func TestDNSCheckCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv := dnstest.Start(t)
	ca := smtpsink.NewTestCA(t)
	os.WriteFile(filepath.Join(dir, "ca.pem"), ca.CertPEM(), 0o600)
	keyPath, _, err := dkim.Keygen("clinic.test", "s1", "ed25519", dir)
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "sealgate.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`hostname: gw.clinic.test
data_dir: %[1]s/data
listeners:
  - {name: local, address: "127.0.0.1:0", tls: none, auth: none}
portal: {base_url: "https://portal.clinic.test"}
clients:
  - {name: news, networks: [127.0.0.1], allowed_senders: ["*@clinic.test"]}
delivery:
  dns: {servers: ["%[2]s"]}
  tls: {ca_file: %[1]s/ca.pem}
dkim:
  - {domain: clinic.test, selector: s1, key: %[3]s}
`, dir, srv.Addr, keyPath)), 0o600)
	srv.Add(t, "gw.clinic.test. IN A 192.0.2.10", "clinic.test. IN MX 10 mx1.clinic.test.")

	code, out, errOut := runCLI("dns", "check", "--config", cfgPath, "--domain", "clinic.test")
	if code != 1 {
		t.Fatalf("exit %d with nothing published, want 1\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"gateway addresses: 192.0.2.10", "SPF      MISSING", "DKIM     MISSING", "DMARC    MISSING",
		"MTA-STS  MISSING", "TLS-RPT  MISSING", "rDNS     MISSING", `publish: clinic.test. IN TXT "v=spf1 ip4:192.0.2.10 -all"`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Publish what it asked for (the zone lines it printed), with a policy.
	for _, line := range strings.Split(out, "\n") {
		if rec, ok := strings.CutPrefix(strings.TrimSpace(line), "publish: "); ok && strings.Contains(rec, " IN TXT ") {
			srv.Add(t, rec)
		}
	}
	ip := dnstest.IP(t)
	host := ststest.Start(t, ip, ca.Leaf(t, "mta-sts.clinic.test"), "version: STSv1\nmode: enforce\nmx: mx1.clinic.test\nmax_age: 86400\n")
	check := func(args ...string) (int, string, string) {
		return runDNSCheck(t, dnsCheckOptions{mtastsPort: host.Port()}, args...)
	}
	srv.Add(t, "mta-sts.clinic.test. IN A "+ip)
	srv.Set(t, `_dmarc.clinic.test. IN TXT "v=DMARC1; p=reject; rua=mailto:d@clinic.test"`)
	srv.Add(t, "10.2.0.192.in-addr.arpa. IN PTR gw.clinic.test.")

	code, out, errOut = check("--config", cfgPath, "--domain", "clinic.test", "--json")
	var findings []senderdns.Finding
	if err := json.Unmarshal([]byte(out), &findings); err != nil {
		t.Fatalf("JSON: %v\n%s%s", err, out, errOut)
	}
	for _, f := range findings {
		if f.Status != senderdns.OK {
			t.Errorf("%s: %s %v", f.Check, f.Status, f.Explain)
		}
	}
	if code != 0 || len(findings) != 6 {
		t.Fatalf("exit %d, %d findings after publishing", code, len(findings))
	}
	if host.Hits() == 0 {
		t.Fatal("the MTA-STS check passed without fetching the policy")
	}

	// --ip names another address: SPF no longer authorises it.
	code, out, _ = check("--config", cfgPath, "--domain", "clinic.test", "--ip", "203.0.113.5")
	if code != 1 || !strings.Contains(out, "203.0.113.5: fail") || !strings.Contains(out, "ip4:192.0.2.10 ip4:203.0.113.5 -all") {
		t.Fatalf("exit %d for an unauthorised --ip:\n%s", code, out)
	}
	if code, _, errOut := runCLI("dns", "check", "--config", cfgPath); code != 2 || !strings.Contains(errOut, "needs --domain") {
		t.Fatalf("without --domain: exit %d, %s", code, errOut)
	}
}

// runDNSCheck runs `sealgate dns check ARGS` as the command line would,
// with opts.
func runDNSCheck(t *testing.T, opts dnsCheckOptions, args ...string) (int, string, string) {
	t.Helper()
	inv, err := parseArgs(append([]string{"dns", "check"}, args...))
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := dnsCheck(inv, stdio{in: strings.NewReader(""), out: &out, err: &errb}, opts)
	return code, out.String(), errb.String()
}
