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

// TestSpoolKeyDefaultOutsideSpool pins where the spool key goes when
// queue.key_file is not set: <data_dir>/keys/spool.key, never under the
// spool, whether data_dir is the built-in one, set in the file, or the
// local default of a config-less start.
func TestSpoolKeyDefaultOutsideSpool(t *testing.T) {
	t.Parallel()
	decoded := func(yaml string) *Config {
		c, err := Decode(filepath.Join(t.TempDir(), "sealgate.yaml"), []byte(yaml))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for name, c := range map[string]*Config{
		"built-in data_dir": decoded("hostname: mx.example.org\n"),
		"data_dir set":      decoded("data_dir: /srv/sealgate\n"),
		"no config":         Default(t.TempDir()),
	} {
		want := filepath.Join(c.DataDir, "keys", "spool.key")
		if c.Queue.KeyFile != want {
			t.Errorf("%s: queue.key_file = %q, want %q", name, c.Queue.KeyFile, want)
		}
		if within(c.Queue.KeyFile, c.SpoolDir()) {
			t.Errorf("%s: spool key %q is inside the spool %q", name, c.Queue.KeyFile, c.SpoolDir())
		}
	}
}
