package interop

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sealgate/sealgate/internal/testenv"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// ids returns a user's uid and primary gid.
func ids(t *testing.T, name string) (int, int) {
	t.Helper()
	u, err := user.Lookup(name)
	if err != nil {
		missing(t, "user %s: %v", name, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return uid, gid
}

func chown(t *testing.T, name, path string) {
	t.Helper()
	uid, gid := ids(t, name)
	if err := os.Chown(path, uid, gid); err != nil {
		t.Fatal(err)
	}
}

func hostOf(hostport string) string {
	h, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return hostport
	}
	return h
}

// waitListen waits (at most 20 s) until addr accepts connections.
func waitListen(t *testing.T, addr string) {
	t.Helper()
	testenv.WaitForState(t, 20*time.Second, "a listener on "+addr, func() (bool, string) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return false, err.Error()
		}
		c.Close()
		return true, ""
	})
}

// waitFor polls cond until it holds or limit passes, and reports whether it
// held (testenv.Poll).
func waitFor(limit time.Duration, cond func() bool) bool { return testenv.Poll(limit, cond) }

// writeCert writes c and its key as PEM files cert.pem and key.pem in dir,
// readable by the peers' unprivileged users (test keys only).
func writeCert(t *testing.T, dir string, c tls.Certificate) {
	t.Helper()
	writeCertAs(t, dir, "", c)
}

// writeCertAs writes c as PREFIXcert.pem and PREFIXkey.pem ("client-"…).
func writeCertAs(t *testing.T, dir, name string, c tls.Certificate) {
	t.Helper()
	prefix := ""
	if name != "" {
		prefix = name + "-"
	}
	kder, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, prefix+"cert.pem"), string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]})))
	write(t, filepath.Join(dir, prefix+"key.pem"), string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})))
}

// mail is one delivered message file.
type mail struct {
	path string
	data []byte // as stored: LF line endings
}

// header returns the first value of a top-level header field, unfolded.
func (m mail) header(name string) string {
	head, _, _ := bytes.Cut(m.data, []byte("\n\n"))
	var val string
	found := false
	for _, line := range strings.Split(string(head), "\n") {
		if found {
			if strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t") {
				val += " " + strings.TrimSpace(line)
				continue
			}
			return val
		}
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.EqualFold(k, name) {
			val, found = strings.TrimSpace(v), true
		}
	}
	return val
}

// headers returns every value of a top-level header field, unfolded.
func (m mail) headers(name string) []string {
	head, _, _ := bytes.Cut(m.data, []byte("\n\n"))
	var out []string
	cur := -1
	for _, line := range strings.Split(string(head), "\n") {
		if strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t") {
			if cur >= 0 {
				out[cur] += " " + strings.TrimSpace(line)
			}
			continue
		}
		cur = -1
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, name) {
			out = append(out, strings.TrimSpace(v))
			cur = len(out) - 1
		}
	}
	return out
}

// crlf is the message with CRLF line endings, as it travelled.
func (m mail) crlf() []byte {
	return bytes.ReplaceAll(m.data, []byte("\n"), []byte("\r\n"))
}

// readMaildir reads every message in dir/new and dir/cur, oldest name first.
func readMaildir(t *testing.T, dir string) []mail {
	t.Helper()
	var out []mail
	for _, sub := range []string{"new", "cur"} {
		entries, _ := os.ReadDir(filepath.Join(dir, sub))
		for _, e := range entries {
			p := filepath.Join(dir, sub, e.Name())
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, mail{path: p, data: b})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out
}
