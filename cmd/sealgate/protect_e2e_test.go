package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message"

	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/internal/testenv"
	"github.com/sealgate/sealgate/portal/box"
)

// checkInnerEntity parses a decrypted MIME entity and checks the real
// subject, the body text and the attachment byte for byte.
func checkInnerEntity(t *testing.T, tool string, plain []byte) {
	t.Helper()
	if !bytes.Contains(plain, []byte("Subject: Your biopsy results")) {
		t.Errorf("%s: protected Subject missing from the decrypted entity", tool)
	}
	ent, err := message.Read(bytes.NewReader(plain))
	if err != nil {
		t.Fatalf("%s: decrypted entity does not parse: %v", tool, err)
	}
	mr := ent.MultipartReader()
	if mr == nil {
		t.Fatalf("%s: decrypted entity is not multipart", tool)
	}
	var parts [][]byte
	for p, err := mr.NextPart(); err == nil; p, err = mr.NextPart() {
		b, _ := io.ReadAll(p.Body)
		parts = append(parts, b)
	}
	if len(parts) != 2 || !bytes.Contains(parts[0], []byte(protBody)) || string(parts[1]) != protAttachment {
		t.Fatalf("%s: decrypted parts %q", tool, parts)
	}
}

// gpgDecrypt imports the secret key into a private GnuPG home and decrypts
// armored with `gpg --decrypt`.
func gpgDecrypt(t *testing.T, secret, armored []byte) []byte {
	t.Helper()
	testenv.Tool(t, "gpg")
	home, err := os.MkdirTemp("/tmp", "gpg") // short: the agent socket lives here
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		kill := exec.Command("gpgconf", "--kill", "all")
		kill.Env = append(os.Environ(), "GNUPGHOME="+home)
		_ = kill.Run()
		os.RemoveAll(home)
	})
	run := func(stdin []byte, args ...string) []byte {
		cmd := exec.Command("gpg", append([]string{"--batch", "--no-tty"}, args...)...)
		cmd.Env = append(os.Environ(), "GNUPGHOME="+home)
		cmd.Stdin = bytes.NewReader(stdin)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("gpg %v: %v\n%s", args, err, errb.String())
		}
		return out.Bytes()
	}
	run(secret, "--import")
	return run(armored, "--decrypt")
}

// pgpDataPart returns the armored part of a PGP/MIME message.
func pgpDataPart(t *testing.T, msg []byte) []byte {
	t.Helper()
	ent, err := message.Read(bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	if mt, params, _ := ent.Header.ContentType(); mt != "multipart/encrypted" || params["protocol"] != "application/pgp-encrypted" {
		t.Fatalf("outer Content-Type %q %v, want PGP/MIME", mt, params)
	}
	mr := ent.MultipartReader()
	var parts [][]byte
	for p, err := mr.NextPart(); err == nil; p, err = mr.NextPart() {
		b, _ := io.ReadAll(p.Body)
		parts = append(parts, b)
	}
	if len(parts) != 2 || !bytes.HasPrefix(parts[1], []byte("-----BEGIN PGP MESSAGE-----")) {
		t.Fatalf("PGP/MIME parts: %d", len(parts))
	}
	return parts[1]
}

func TestPGPMessageAtSinkDecryptsWithGPG(t *testing.T) {
	t.Parallel()
	testenv.Tool(t, "gpg")
	e := newProtEnv(t, nil, nil)
	e.send(t, "pgp@example.net")
	msgs, err := e.good.Wait(1, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	checkNoPHI(t, "PGP/MIME message at the sink", msgs[0].Data)
	if !bytes.Contains(msgs[0].Data, []byte("Subject: Encrypted message")) {
		t.Error("outer Subject is not the neutral one")
	}
	plain := gpgDecrypt(t, protArmor(t, e.pgpKey, true), pgpDataPart(t, msgs[0].Data))
	checkInnerEntity(t, "gpg", plain)
}

func TestSMIMEMessageAtSinkDecryptsWithOpenSSL(t *testing.T) {
	t.Parallel()
	testenv.Tool(t, "openssl")
	e := newProtEnv(t, nil, nil)
	e.send(t, "smime@example.net")
	msgs, err := e.good.Wait(1, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	checkNoPHI(t, "S/MIME message at the sink", msgs[0].Data)
	dir := t.TempDir()
	in := protWrite(t, dir, "msg.eml", msgs[0].Data)
	certFile := protWrite(t, dir, "cert.pem", pemCert(e))
	keyFile := protWrite(t, dir, "key.pem", pemKey(t, e))
	for _, tool := range []string{"cms", "smime"} {
		cmd := exec.Command("openssl", tool, "-decrypt", "-in", in, "-recip", certFile, "-inkey", keyFile)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("openssl %s -decrypt: %v\n%s", tool, err, errb.String())
		}
		checkInnerEntity(t, "openssl "+tool, out.Bytes())
	}
}

var portalLink = regexp.MustCompile(`https://portal\.example\.org/m/([A-Za-z0-9_-]{43})`)

func TestFourRecipientsLeaveFourWays(t *testing.T) {
	t.Parallel()
	e := newProtEnv(t, nil, nil)
	e.send(t, "pgp@example.net", "smime@example.net", "tls@example.net", "nobody@bad.example")
	good, err := e.good.Wait(3, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	bad, err := e.bad.Wait(1, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if p := forRcpt(good, "pgp@example.net"); len(p) != 1 || !bytes.Contains(p[0].Data, []byte("multipart/encrypted")) {
		t.Error("pgp@ did not get its own PGP/MIME copy")
	}
	if s := forRcpt(good, "smime@example.net"); len(s) != 1 || !bytes.Contains(s[0].Data, []byte("smime-type=enveloped-data")) {
		t.Error("smime@ did not get its own S/MIME copy")
	}
	if p := forRcpt(good, "tls@example.net"); len(p) != 1 || !p[0].TLS || !bytes.Contains(p[0].Data, []byte(protBody)) {
		t.Error("tls@ did not get the message over TLS")
	}
	for _, m := range good {
		if len(m.Rcpts) != 1 {
			t.Errorf("a delivery went to %d recipients at once", len(m.Rcpts))
		}
	}
	token := checkNotification(t, bad)
	checkPortalItem(t, e, token, "nobody@bad.example")
	waitMetric(t, e, `sealgate_encrypted_total{method="portal"} 1`)
	metrics := scrape(t, e.env)
	for _, m := range []string{"pgp", "smime", "tls", "portal"} {
		if want := `sealgate_encrypted_total{method="` + m + `"} 1`; !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if !strings.Contains(metrics, `sealgate_encrypt_fallbacks_total{from="tls"} 1`) {
		t.Error("the TLS fallback is not counted")
	}
	// The courier counts a recipient before it logs it; the message leaves
	// the queue only after every recipient was logged.
	waitMetric(t, e, "sealgate_queue_messages 0")
	checkProtectionLogs(t, e.logs.String())
	checkAuditVerification(t, e, "tls@example.net", "tls", "pinned")
	checkAuditEncryption(t, e, "pgp@example.net", "pgp", "openpgp")
	checkAuditEncryption(t, e, "smime@example.net", "smime", "aes-256-cbc")
	if !strings.Contains(metrics, `sealgate_delivery_verification_total{verification="pinned"}`) {
		t.Error("metrics lack sealgate_delivery_verification_total")
	}
}

// checkAuditVerification: the audit log's delivery record for rcpt names
// its protection method and how the next hop was verified.
func checkAuditVerification(t *testing.T, e *protEnv, rcpt, method, verification string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(e.dir, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		var ev struct {
			Event, Rcpt, Method, Result string
			TLSVerification             string `json:"tls_verification"`
		}
		if json.Unmarshal([]byte(line), &ev) != nil || ev.Event != "delivery" || ev.Rcpt != rcpt {
			continue
		}
		if ev.Method == method && ev.TLSVerification == verification && ev.Result == "delivered" {
			return
		}
	}
	t.Errorf("audit log has no delivery of %s by %s with tls_verification %s:\n%s", rcpt, method, verification, data)
}

// checkAuditEncryption: the audit log's delivery record for rcpt names
// its protection method and how the copy was encrypted.
func checkAuditEncryption(t *testing.T, e *protEnv, rcpt, method, encryption string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(e.dir, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		var ev struct{ Event, Rcpt, Method, Result, Encryption string }
		if json.Unmarshal([]byte(line), &ev) != nil || ev.Event != "delivery" || ev.Rcpt != rcpt {
			continue
		}
		if ev.Method == method && ev.Encryption == encryption && ev.Result == "delivered" {
			return
		}
	}
	t.Errorf("audit log has no delivery of %s by %s encrypted %s:\n%s", rcpt, method, encryption, data)
}

// checkNotification: exactly one message, the notification, carrying no
// PHI; it returns the link's token.
func checkNotification(t *testing.T, msgs []smtpsink.Message) string {
	t.Helper()
	if len(msgs) != 1 {
		t.Fatalf("unverified destination got %d messages, want only the notification", len(msgs))
	}
	n := msgs[0].Data
	checkNoPHI(t, "portal notification", n)
	for _, want := range []string{"Subject: You have a secure message", `From: "Example Clinic" <lab@clinic.example.org>`} {
		if !bytes.Contains(n, []byte(want)) {
			t.Errorf("notification lacks %q", want)
		}
	}
	m := portalLink.FindSubmatch(n)
	if m == nil {
		t.Fatalf("notification has no portal link:\n%s", n)
	}
	return string(m[1])
}

// checkPortalItem finds the encrypted message in the gateway's pickup store by
// the link's token.
func checkPortalItem(t *testing.T, e *protEnv, token, rcpt string) {
	t.Helper()
	if e.gw.portalStore == nil {
		t.Fatal("gateway has no portal store")
	}
	it, err := box.New(e.gw.portalStore).Get(context.Background(), token)
	if err != nil {
		t.Fatalf("portal store has no item for the link: %v", err)
	}
	if !bytes.Contains(it.Message, []byte(protBody)) || it.Recipient != rcpt {
		t.Errorf("portal item for %q does not hold the message", it.Recipient)
	}
}

// portalNotice sends the PHI message to rcpt at bad.example (whose
// certificate does not verify) and returns the link token of the portal
// notification that reaches that sink.
func (e *protEnv) portalNotice(t *testing.T, rcpt string) string {
	t.Helper()
	e.send(t, rcpt)
	msgs, err := e.bad.Wait(1, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return checkNotification(t, msgs)
}

// checkPortalServes opens the link on the gateway's own pickup site: it
// answers over TLS with the page that offers to send a code, and shows
// nothing of the message before that.
func checkPortalServes(t *testing.T, e *protEnv, token string) {
	t.Helper()
	status, page := newPortalClient(t, e.env).get("/m/" + token)
	if status != http.StatusOK || !bytes.Contains(bytes.ToLower(page), []byte("code")) {
		t.Fatalf("portal link: %d\n%s", status, page)
	}
	if bytes.Contains(page, []byte(protBody)) || bytes.Contains(page, []byte("biopsy")) {
		t.Error("portal shows the message before the code")
	}
}

// checkProtectionLogs: each recipient's method and reason, no address.
func checkProtectionLogs(t *testing.T, logs string) {
	t.Helper()
	for _, want := range []string{"method=pgp", "method=smime", "method=tls", `method=portal reason="` + portalReason + `"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q", want)
		}
	}
	for _, leak := range []string{"pgp@example.net", "nobody@bad.example", "biopsy"} {
		if strings.Contains(logs, leak) {
			t.Errorf("logs carry %q", leak)
		}
	}
}

// portalReason is why a PHI recipient at bad.example goes to the portal:
// its route is not a trusted hop, which the gateway finds before it
// connects.
const portalReason = "authenticated TLS not available at the destination (looked up: route or smarthost not declared trusted)"

// The first PHI message for a destination that cannot authenticate its
// next hop goes to the portal without an attempt at TLS there: the
// receiver sees one connection, the notification's, and the audit record
// says why.
func TestUnverifiedDestinationGetsPortalNotificationNeverThePlainMessage(t *testing.T) {
	t.Parallel()
	e := newProtEnv(t, nil, nil)
	token := e.portalNotice(t, "nobody@bad.example")
	checkPortalItem(t, e, token, "nobody@bad.example")
	checkPortalServes(t, e, token)
	waitMetric(t, e, `sealgate_queue_messages 0`)
	if got := e.bad.Messages(); len(got) != 1 || e.bad.Conns() != 1 {
		t.Fatalf("sink received %d messages over %d connections, want the notification over 1", len(got), e.bad.Conns())
	}
	if d := deliveredTo(t, e, "nobody@bad.example"); len(d) != 1 || d[0].Method != "portal" || d[0].Reason != portalReason {
		t.Fatalf("audit records %+v; want the portal, reason %q", d, portalReason)
	}
}

func TestBadKeysAndCertificatesSkippedWithLogLine(t *testing.T) {
	t.Parallel()
	expired := protPGPKey(t, "oldkey@example.net", 3600)
	e := newProtEnv(t,
		map[string][]byte{"expired.asc": protArmor(t, expired, false), "garbage.asc": []byte("not a key at all")},
		map[string][]byte{"garbage.pem": []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
			"expired.pem": pemOf(protCert(t, "oldcert@example.net", time.Now().Add(-time.Hour)))})
	logs := e.logs.String()
	for _, want := range []string{"file=expired.asc", "reason=expired", "file=garbage.asc", "file=garbage.pem", "file=expired.pem"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q", want)
		}
	}
	e.send(t, "oldkey@example.net", "oldcert@example.net")
	msgs, err := e.good.Wait(1, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs[0].Rcpts) != 2 || !msgs[0].TLS || bytes.Contains(msgs[0].Data, []byte("multipart/encrypted")) {
		t.Errorf("recipients with unusable keys should share one verified-TLS delivery")
	}
}

// waitMetric waits (bounded) until the metrics show want.
func waitMetric(t *testing.T, e *protEnv, want string) {
	t.Helper()
	testenv.WaitFor(t, 30*time.Second, "metrics showing "+want, func() bool { return strings.Contains(scrape(t, e.env), want) })
}

func TestDestinationWithoutSTARTTLSGetsPortalNotification(t *testing.T) {
	t.Parallel()
	e := newProtEnv(t, nil, nil)
	e.send(t, "nobody@plain.example")
	msgs, err := e.plain.Wait(1, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if msgs[0].TLS {
		t.Fatal("the plaintext sink reports TLS")
	}
	checkPortalItem(t, e, checkNotification(t, msgs), "nobody@plain.example")
}
