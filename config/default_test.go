package config

import (
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefaultValidates(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := Default(dir)
	if err := c.Validate(Options{}); err != nil {
		t.Fatalf("Default config does not validate:\n%v", err)
	}
	if want := filepath.Join(dir, "sealgate-data"); c.DataDir != want {
		t.Errorf("DataDir = %q, want %q", c.DataDir, want)
	}
	if !c.TLS.Generate || !strings.HasPrefix(c.TLS.Cert, c.DataDir) || !strings.HasPrefix(c.TLS.Key, c.DataDir) {
		t.Errorf("TLS = %+v, want generated files inside the data dir", c.TLS)
	}
	for _, l := range c.Listeners {
		e, err := parseListen(l.Address)
		if err != nil || !e.ip.IsLoopback() || l.TLS == TLSNone {
			t.Errorf("listener %+v is not loopback with TLS", l)
		}
	}
	if len(c.Clients) != 1 || !c.Clients[0].Networks[0].Contains(netip.MustParseAddr("127.0.0.1")) {
		t.Errorf("Clients = %+v, want one loopback client", c.Clients)
	}
	if within(c.Queue.KeyFile, c.SpoolDir()) || !within(c.Queue.KeyFile, c.DataDir) {
		t.Errorf("spool key %q must be in the data dir and outside the spool %q", c.Queue.KeyFile, c.SpoolDir())
	}
	if c.SourceFile() != "<defaults>" {
		t.Errorf("SourceFile = %q", c.SourceFile())
	}
}
