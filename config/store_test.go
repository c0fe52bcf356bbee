package config

import (
	"strings"
	"testing"
	"time"
)

// storeConfig is a small valid config with the given store lines.
func storeConfig(lines string) []byte {
	return []byte(`hostname: mx.example.org
data_dir: /var/lib/sealgate
tls: {cert: /c.pem, key: /k.pem}
listeners: [{name: s, address: "0.0.0.0:587", tls: starttls, auth: required}]
clients: [{name: app, networks: 10.0.0.0/8, allowed_senders: "*"}]
` + lines)
}

// TestStoreAlias: store and its old name portal.store name one store;
// either alone works, both agreeing work, both disagreeing is an error.
func TestStoreAlias(t *testing.T) {
	t.Parallel()
	const pg = "postgres://sealgate@/sealgate?host=/run/postgresql"
	for _, tc := range []struct {
		name, lines, want string
		shared            bool
	}{
		{"neither", "portal: {base_url: \"https://p.example.org\"}\n", "sqlite", false},
		{"store", "store: " + pg + "\nportal: {base_url: \"https://p.example.org\"}\n", pg, true},
		{"mapping", "store: {url: \"" + pg + "\", max_open_conns: 3}\nportal: {base_url: \"https://p.example.org\"}\n", pg, true},
		{"alias", "portal: {base_url: \"https://p.example.org\", store: \"" + pg + "\"}\n", pg, true},
		{"both agree", "store: " + pg + "\nportal: {base_url: \"https://p.example.org\", store: \"" + pg + "\"}\n", pg, true},
		{"loopback without TLS", "store: postgres://sealgate@127.0.0.1:5432/sealgate\nportal: {base_url: \"https://p.example.org\"}\n", "postgres://sealgate@127.0.0.1:5432/sealgate", true},
		{"remote verified", "store: \"postgres://db.example.org/s?sslmode=verify-full&sslrootcert=/ca.pem\"\nportal: {base_url: \"https://p.example.org\"}\n", "postgres://db.example.org/s?sslmode=verify-full&sslrootcert=/ca.pem", true},
	} {
		c, err := ParseWith("s.yaml", storeConfig(tc.lines), Options{SkipFileChecks: true})
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if c.StoreURL() != tc.want || c.SharedStore() != tc.shared {
			t.Errorf("%s: store %q (shared %v), want %q (%v)", tc.name, c.StoreURL(), c.SharedStore(), tc.want, tc.shared)
		}
	}
	if Default("").StoreURL() != "sqlite" {
		t.Errorf("the no-config store is %q, want sqlite", Default("").StoreURL())
	}
}

// TestStoreErrorsHidePassword: a store URL may carry a password; no
// error message repeats it.
func TestStoreErrorsHidePassword(t *testing.T) {
	t.Parallel()
	for _, u := range []string{
		"postgres://sealgate:s3cr3t-pw@db.example.org/sealgate",
		"postgres://sealgate:s3cr3t-pw@db.example.org/sealgate?sslmode=bogus",
		"postgres://sealgate:s3cr3t-pw@db.example.org/%zz",
		"mysql://sealgate:s3cr3t-pw@db.example.org/sealgate",
	} {
		_, err := ParseWith("s.yaml", storeConfig("store: \""+u+"\"\nportal: {base_url: \"https://p.example.org\"}\n"), Options{SkipFileChecks: true})
		if err == nil {
			t.Errorf("%s: accepted", u)
			continue
		}
		if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("the error repeats the password: %v", err)
		}
		if !strings.Contains(err.Error(), "s.yaml:6: store:") {
			t.Errorf("the error does not name file:line and key: %v", err)
		}
	}
}

// TestStoreFilesChecked: the files a store URL names are checked like
// every other file the config names, at the store's line.
func TestStoreFilesChecked(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := strings.Replace(string(storeConfig("store: \"postgres://db.example.org/s?sslmode=verify-full&sslrootcert="+dir+
		"/missing-ca.pem&sslkey="+dir+"/missing.key\"\nportal: {base_url: \"https://p.example.org\"}\n")),
		"data_dir: /var/lib/sealgate", "data_dir: "+dir, 1)
	c, err := Decode("s.yaml", []byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Validate(Options{})
	if err == nil {
		t.Fatal("missing sslrootcert and sslkey files were accepted")
	}
	for _, want := range []string{"s.yaml:6: store.sslrootcert: cannot read", "s.yaml:6: store.sslkey: cannot read"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

// TestEvidenceIndexRetention: left out (or 0) it is 400 days; a value
// of a day or more is kept; less than a day, or negative, is an error at
// its line.
func TestEvidenceIndexRetention(t *testing.T) {
	t.Parallel()
	const pg = "postgres://sealgate@/sealgate?host=/run/postgresql"
	for _, tc := range []struct {
		lines string
		want  time.Duration
		err   string
	}{
		{"store: " + pg + "\n", 400 * 24 * time.Hour, ""},
		{"store: {url: \"" + pg + "\", evidence_index_retention: 0s}\n", 400 * 24 * time.Hour, ""},
		{"store: {url: \"" + pg + "\", evidence_index_retention: 2190d}\n", 2190 * 24 * time.Hour, ""},
		{"store: {url: \"" + pg + "\", evidence_index_retention: 12h}\n", 0, "s.yaml:6: store.evidence_index_retention: must be at least 1d"},
		{"store: {url: \"" + pg + "\", evidence_index_retention: -24h}\n", 0, "s.yaml:6: store.evidence_index_retention: duration \"-24h\" must not be negative"},
	} {
		c, err := ParseWith("s.yaml", storeConfig(tc.lines+"portal: {base_url: \"https://p.example.org\"}\n"), Options{SkipFileChecks: true})
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: %v, want %q", tc.lines, err, tc.err)
			}
			continue
		}
		if err != nil || c.Store.IndexRetention() != tc.want {
			t.Errorf("%q: %v, want retention %v", tc.lines, err, tc.want)
		}
	}
}
