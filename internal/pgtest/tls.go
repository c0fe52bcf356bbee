package pgtest

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// StartTLSCluster starts a cluster for t alone that, besides its unix
// socket (URL, for NewDB), listens on 127.0.0.1 (TCP) with ssl=on,
// presenting the server certificate certPEM with its key keyPEM (PEM,
// PKCS #8 or SEC 1). pg_hba.conf lets TCP clients in over TLS only
// (hostssl): a connection without TLS is refused by the server.
func StartTLSCluster(t testing.TB, certPEM, keyPEM []byte) *Cluster {
	t.Helper()
	c := initCluster(t)
	crt, key := filepath.Join(c.dir, "server.crt"), filepath.Join(c.dir, "server.key")
	hba := "local all all trust\nhostssl all all 127.0.0.1/32 trust\n"
	for _, f := range []struct {
		path string
		data []byte
	}{{crt, certPEM}, {key, keyPEM}, {filepath.Join(c.data, "pg_hba.conf"), []byte(hba)}} {
		if err := os.WriteFile(f.path, f.data, 0o600); err != nil {
			t.Fatal(err)
		}
		if os.Geteuid() == 0 {
			if err := chownTo(f.path, c.owner); err != nil {
				t.Fatal(err)
			}
		}
	}
	port := freePort(t)
	c.listen = "127.0.0.1"
	c.extra = fmt.Sprintf(" -c port=%d -c ssl=on -c ssl_cert_file=%s -c ssl_key_file=%s", port, crt, key)
	c.URL += "&port=" + strconv.Itoa(port)
	c.TCP = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	c.Start(t)
	return c
}

// freePort is a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
