package config

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// TestFullConfig decodes a config that sets every key and checks each typed
// value.
func TestFullConfig(t *testing.T) {
	t.Parallel()
	c := loadNoFileChecks(t, "testdata/good/full.yaml")
	dir, _ := filepath.Abs("testdata/good")
	want := fullWant(dir)
	want.src = c.src
	for _, f := range reflect.VisibleFields(reflect.TypeFor[Config]()) {
		got, exp := reflect.ValueOf(*c).FieldByIndex(f.Index), reflect.ValueOf(*want).FieldByIndex(f.Index)
		if f.IsExported() && !reflect.DeepEqual(got.Interface(), exp.Interface()) {
			t.Errorf("%s:\n got %+v\nwant %+v", f.Name, got.Interface(), exp.Interface())
		}
	}
}

// fullWant is testdata/good/full.yaml as values; dir is its folder.
func fullWant(dir string) *Config {
	pfx := netip.MustParsePrefix
	day := 24 * time.Hour
	return &Config{
		Hostname: "mx-out.example-clinic.org",
		DataDir:  "/srv/sealgate",
		Store: Store{URL: "postgres://sealgate@db/sealgate?sslmode=verify-full&sslrootcert=/k/db-ca.pem", MaxOpenConns: 30, MaxIdleConns: 10,
			ConnMaxLifetime: time.Hour, ConnMaxIdleTime: 2 * time.Minute},
		Listeners: []Listener{
			{Name: "submission", Address: "0.0.0.0:587", TLS: TLSStartTLS, Auth: AuthRequired},
			{Name: "relay", Address: ":25", TLS: TLSStartTLS, Auth: AuthNone},
			{Name: "local", Address: "127.0.0.1:2525", TLS: TLSNone, Auth: AuthNone},
		},
		TLS: TLSFiles{Cert: filepath.Join(dir, "tls/cert.pem"), Key: "/etc/sealgate/tls.key"},
		Clients: []Client{
			{Name: "marketing", Username: "marketing", PasswordHash: "$2a$04$7xRZL2.ZqZfaNbQ4ugOBueyk6Ohqv7l54Uw.g1LDaAeVyZHzHBnYi",
				AllowedSenders: []string{"*@news.example-clinic.org"}},
			{Name: "ehr", Networks: []netip.Prefix{pfx("10.20.0.0/16"), pfx("10.30.1.5/32"), pfx("fd00::/8")},
				CertFingerprints: []string{"3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b"},
				AllowedSenders:   []string{"*@example-clinic.org", "*@*.example-clinic.org"}},
		},
		Policy: Policy{
			DefaultAction: DefaultEncryptAll,
			SubjectTags:   []string{"[phi]"},
			Unreadable:    ActionQuarantine,
			Rules: []Rule{
				{Name: "tagged", If: Match{SubjectTag: "[secure]"}, Then: Then{Action: ActionEncrypt}},
				{Name: "rules[1]", If: Match{RecipientDomain: "*partner.org", Client: "ehr",
					Sender: "*@example-clinic.org", Header: "Sensitivity: Private"},
					Then: Then{Action: ActionEncrypt, Method: MethodTLS}},
				{Name: "bulk", If: Match{Client: "bulk-*"}, Then: Then{Action: ActionEncrypt, Method: MethodPortal}},
			},
			Scan: ScanLimits{MaxDepth: 10, MaxParts: 500, MaxDecodedBytes: 64 << 20, MaxPartBytes: 16 << 20,
				MaxUnzipBytes: 8_000_000, MaxZipEntries: 100, MaxXMLDepth: 64, Timeout: 2 * time.Second,
				Media: MediaProtect},
		},
		Encrypt: Encryption{
			Order: []string{MethodSMIME, MethodPortal},
			PGP: PGP{Keyring: filepath.Join(dir, "pgp"), WKD: true, ArchiveKey: "/k/archive.asc",
				SignKey: "/k/sign.asc"},
			SMIME:         SMIME{Certs: "/k/smime", SignCert: "/k/s.crt", SignKey: "/k/s.key"},
			Subject:       "Secure message",
			PortalSubject: "A message is waiting for you",
		},
		Delivery: Delivery{
			Routes:        map[string]string{"lab.example": "smtp.lab.example:2525", "x.example": "[2001:db8::1]:25"},
			Smarthost:     "relay.example.net:587",
			SmarthostAuth: SmarthostAuth{Username: "gw", PasswordFile: "/k/relay.pw"},
			TLS: DeliveryTLS{
				CAFile: "/k/ca.pem",
				Policy: map[string]string{"default": TLSPolicyEncrypt, "partner.org": TLSPolicyVerify, "bank.example": TLSPolicyDANEOnly},
				Report: TLSReport{Enabled: true, Organization: "Example Clinic", Contact: "postmaster@example-clinic.org"},
			},
			DNS:                          DNS{Servers: []string{"127.0.0.1:53", "[::1]:5353"}, TrustAD: true},
			Retry:                        Retry{Schedule: []time.Duration{30 * time.Second, 5 * time.Minute, time.Hour}, MaxAge: 36 * time.Hour},
			MaxConnectionsPerDestination: 4,
			MaxConnections:               50,
			Shaping: Shaping{Enabled: true, ShapingLimits: ShapingLimits{Connections: 10, MessagesPerConnection: 100, PerMinute: 1200},
				Hold: 2 * time.Minute, RecoverStep: time.Minute, MaxWait: 2 * time.Second,
				Providers: map[string]ShapingLimits{"google.com": {Connections: 4, PerMinute: 300, PerHour: 9000}}},
		},
		DKIM: []DKIMKey{{Domain: "example-clinic.org", Selector: "s2026", Key: "/k/dkim.pem"}},
		Portal: Portal{
			Listen: "0.0.0.0:8443", BaseURL: "https://secure.example-clinic.org/pickup",
			Store: "postgres://sealgate@db/sealgate?sslmode=verify-full&sslrootcert=/k/db-ca.pem", MasterKeyFile: "/k/portal.key", UnsubscribeKeyFile: "/srv/sealgate/keys/unsubscribe.key",
			MessageTTL: 14 * day, SessionIdle: 10 * time.Minute, CodeTTL: 5 * time.Minute, MaxCodeAttempts: 3,
			RequirePassword: true, RequireTOTP: true, ReadReceipts: true,
			TLS:      CertFiles{Cert: "/k/portal.crt", Key: "/k/portal.key.pem"},
			Branding: Branding{Organization: "Example Clinic", Logo: "/k/logo.svg", Color: "#1D4F91", Support: "help@example-clinic.org"},
		},
		Metrics: Metrics{Listen: "127.0.0.1:9100"},
		Queue:   Queue{KeyFile: "/k/spool.key", ShutdownTimeout: time.Minute, MinFree: 256 << 20},
		Limits: Limits{MaxMessageSize: 10 << 20, MaxRecipients: 50, MaxLineLength: 2048,
			CommandTimeout: 2 * time.Minute, DataTimeout: 5 * time.Minute, SessionLifetime: 30 * time.Minute,
			MaxConnections: 200, MaxConnectionsPerClient: 5, ConnectionsPerClientPerMin: 30, MessagesPerClientPerMinute: 0, MaxAuthFailures: 2},
		Log: Log{Level: "debug", Format: "json", AuditFile: "-", AuditKeyFile: "/k/audit.key"},
		API: API{Listen: "0.0.0.0:8025", TLS: CertFiles{Cert: "/k/api.crt", Key: "/k/api.key"}, MaxRequestSize: 40_000_000},
		Webhooks: []Webhook{{URL: "https://crm.example/hooks/sealgate", SecretFile: "/k/webhook.secret", CAFile: "/k/crm-ca.pem",
			Events: []string{"delivered", "bounced"}}},
		Bounces: Bounces{Domain: "bounce.example-clinic.org", LocalPart: "rp", Listen: "0.0.0.0:2526",
			FeedbackAddress: "fbl@bounce.example-clinic.org", KeyFile: "/k/bounces.key", Retention: 14 * day, MaxMessageSize: 2_000_000},
		Cluster: Cluster{Listen: "0.0.0.0:8026", Peers: []string{"node-b.example:8026", "10.0.0.3:8026"},
			TLS:        ClusterTLS{Cert: "/k/cluster.crt", Key: "/k/cluster.key", CA: "/k/cluster-ca.crt"},
			SecretFile: "/k/cluster.secret", DrainDeadline: 5 * time.Minute, ResumeOnStart: true},
	}
}

// TestMinimalConfigDefaults checks that absent keys keep their defaults and
// data_dir-relative paths follow data_dir.
func TestMinimalConfigDefaults(t *testing.T) {
	t.Parallel()
	c, err := Decode("min.yaml", []byte(`
data_dir: /data
listeners: [{name: l, address: "127.0.0.1:25", tls: none, auth: none}]
clients: [{name: c, networks: 127.0.0.1, allowed_senders: "*"}]
portal: {base_url: "http://localhost:8080"}
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(Options{}); err != nil {
		t.Fatalf("validate:\n%v", err)
	}
	checks := map[string][2]any{
		"key_file":        {c.Queue.KeyFile, "/data/keys/spool.key"},
		"spool":           {c.SpoolDir(), "/data/spool"},
		"portal key":      {c.Portal.MasterKeyFile, "/data/keys/portal.key"},
		"unsubscribe key": {c.Portal.UnsubscribeKeyFile, "/data/keys/unsubscribe.key"},
		"audit":           {c.Log.AuditFile, "/data/audit.log"},
		"max_age":         {c.Delivery.Retry.MaxAge, 120 * time.Hour},
		"size":            {c.Limits.MaxMessageSize, int64(25_000_000)},
		"tls policy":      {c.Delivery.TLS.TLSPolicyFor("Example.ORG."), TLSPolicyMay},
		"generate":        {c.TLS.Generate, false},
		"unreadable":      {c.Policy.Unreadable, ActionEncrypt},
		"scan":            {c.Policy.Scan, defaultScan()},
		"metrics listen":  {c.Metrics.Listen, DefaultMetricsAddress},
		"min_free":        {c.Queue.MinFree, int64(64 << 20)},
	}
	for name, gw := range checks {
		if !reflect.DeepEqual(gw[0], gw[1]) {
			t.Errorf("%s = %v, want %v", name, gw[0], gw[1])
		}
	}
}

func TestTLSPolicyFor(t *testing.T) {
	t.Parallel()
	d := DeliveryTLS{Policy: map[string]string{"default": TLSPolicyEncrypt, "bank.example": TLSPolicyDANE}}
	for dom, want := range map[string]string{"bank.example": TLSPolicyDANE, "BANK.example.": TLSPolicyDANE, "other.example": TLSPolicyEncrypt} {
		if got := d.TLSPolicyFor(dom); got != want {
			t.Errorf("TLSPolicyFor(%q) = %q, want %q", dom, got, want)
		}
	}
	if got := (DeliveryTLS{}).TLSPolicyFor("x.example"); got != TLSPolicyMay {
		t.Errorf("empty policy gives %q, want may", got)
	}
}

// loadNoFileChecks reads, decodes and validates the config at path, the
// files it names left unchecked; any problem ends the test.
func loadNoFileChecks(t *testing.T, path string) *Config {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseWith(path, data, Options{SkipFileChecks: true})
	if err != nil {
		t.Fatalf("%s:\n%v", path, err)
	}
	return c
}
