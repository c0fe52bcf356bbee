package config

import (
	"cmp"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Store names the shared store: the portal, the suppression list, rate
// limits and the other state that several nodes share. In the file it is
// either a single value (`store: sqlite`, `store: postgres://…`) or a
// mapping with the URL and the PostgreSQL pool limits.
type Store struct {
	// URL is "sqlite" (embedded, <data_dir>/portal/portal.db; one node)
	// or a postgres:// URL. TLS to the database is set in the URL
	// (sslmode=verify-full, sslrootcert, sslcert, sslkey); a database not
	// on this host must be reached with sslmode=verify-full or verify-ca.
	// Default: portal.store, else sqlite.
	URL string `yaml:"url"`
	// MaxOpenConns bounds the connections of this node to PostgreSQL;
	// default 20.
	MaxOpenConns int `yaml:"max_open_conns"`
	// MaxIdleConns is how many idle connections are kept; default 5.
	MaxIdleConns int `yaml:"max_idle_conns"`
	// ConnMaxLifetime closes a connection this long after it was opened
	// (so a fail-over or a rotated certificate is picked up); default 30m.
	ConnMaxLifetime time.Duration `yaml:"conn_max_lifetime"`
	// ConnMaxIdleTime closes a connection idle this long; default 5m.
	ConnMaxIdleTime time.Duration `yaml:"conn_max_idle_time"`
	// EvidenceIndexRetention is how long the evidence index (PostgreSQL)
	// keeps a recipient's row after its acceptance and its last outcome;
	// older rows are deleted hourly. 0 means the default,
	// DefaultEvidenceIndexRetention.
	EvidenceIndexRetention time.Duration `yaml:"evidence_index_retention"`
}

// DefaultEvidenceIndexRetention is how long evidence index rows are kept
// unless store.evidence_index_retention says otherwise: a year and a
// month, so a yearly audit still finds last year's messages on their
// nodes.
const DefaultEvidenceIndexRetention = 400 * 24 * time.Hour

// IndexRetention is the evidence index retention in effect.
func (s Store) IndexRetention() time.Duration {
	return cmp.Or(s.EvidenceIndexRetention, DefaultEvidenceIndexRetention)
}

// unmarshalNode reads `store: URL` or the mapping form.
func (s *Store) unmarshalNode(d *decoder, n *yaml.Node, path string) {
	switch {
	case isNull(n):
	case n.Kind == yaml.ScalarNode:
		*s = Store{URL: n.Value}
	case n.Kind == yaml.MappingNode:
		d.decodeStruct(n, path, reflect.ValueOf(s).Elem())
	default:
		d.wrongShape(n, path, "sqlite, a postgres:// URL or a mapping with url")
	}
}

// StoreURL is the shared store in effect: store (or store.url), else its
// old name portal.store, else "sqlite".
func (c *Config) StoreURL() string {
	return cmp.Or(c.Store.URL, c.Portal.Store, "sqlite")
}

// SharedStore reports whether the store is PostgreSQL, which several
// nodes can share.
func (c *Config) SharedStore() bool { return c.StoreURL() != "sqlite" }

// PostgresSSLModes are the sslmode values a store URL may name.
var PostgresSSLModes = []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}

// store checks the shared store's URL, its alias and pool limits.
func (v *validator) store() {
	c := v.c
	if c.Store.URL != "" && c.Portal.Store != "" && c.Store.URL != c.Portal.Store {
		v.addf("portal.store", "is the old name of store, which names another store: keep store only")
	}
	if r := c.Store.EvidenceIndexRetention; r != 0 && r < 24*time.Hour {
		v.addf("store.evidence_index_retention", "must be at least 1d (0 means the default, 400d)")
	}
	key := v.storeKey()
	u := c.StoreURL()
	pool := c.Store.MaxOpenConns != 0 || c.Store.MaxIdleConns != 0 || c.Store.ConnMaxLifetime != 0 || c.Store.ConnMaxIdleTime != 0
	switch {
	case u == "sqlite":
		if pool {
			v.addf("store", "pool limits apply to a postgres:// store only (SQLite has one writer)")
		}
		return
	case strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://"):
		v.postgresURL(key, u)
	default:
		// The value is not echoed: a URL may carry a password.
		v.addf(key, "want sqlite or a postgres:// URL")
		return
	}
	v.atLeast("store.max_open_conns", int64(c.Store.MaxOpenConns), 0)
	v.atLeast("store.max_idle_conns", int64(c.Store.MaxIdleConns), 0)
	v.atLeast("store.conn_max_lifetime", int64(c.Store.ConnMaxLifetime), 0)
	v.atLeast("store.conn_max_idle_time", int64(c.Store.ConnMaxIdleTime), 0)
	if o, i := c.Store.MaxOpenConns, c.Store.MaxIdleConns; o > 0 && i > o {
		v.addf("store.max_idle_conns", "must not exceed store.max_open_conns (%d)", o)
	}
}

// storeKey is the key path that names the store in the file.
func (v *validator) storeKey() string {
	switch {
	case v.c.Store.URL == "" && v.c.Portal.Store != "":
		return "portal.store"
	case v.src != nil && v.src.lines["store.url"] != 0:
		return "store.url"
	}
	return "store"
}

// storeFiles checks the files a postgres:// store URL names: the CA that
// verifies the database (sslrootcert), a client certificate and key, a
// password file.
func (v *validator) storeFiles() {
	u, err := url.Parse(v.c.StoreURL())
	if err != nil || !v.c.SharedStore() {
		return
	}
	q, key := u.Query(), v.storeKey()
	if ca := q.Get("sslrootcert"); ca != "" && ca != "system" {
		v.caFile(key+".sslrootcert", ca)
	}
	for _, p := range []string{"sslcert", "sslkey", "passfile"} {
		v.readable(key+"."+p, q.Get(p))
	}
}

// postgresURL checks a postgres:// store URL without echoing it: the
// sslmode is a known one, and a database off this host is reached over
// verified TLS (the store holds recipient addresses and portal metadata).
func (v *validator) postgresURL(key, s string) {
	u, err := url.Parse(s)
	if err != nil {
		v.addf(key, "not a valid postgres:// URL")
		return
	}
	q := u.Query()
	mode := q.Get("sslmode")
	if mode != "" && !slices.Contains(PostgresSSLModes, mode) {
		v.addf(key, "sslmode must be one of %s", strings.Join(PostgresSSLModes, ", "))
		return
	}
	if mode == "verify-full" || mode == "verify-ca" {
		return
	}
	hosts := strings.Split(u.Host, ",")
	if h := q.Get("host"); h != "" {
		hosts = strings.Split(h, ",")
	}
	for _, h := range hosts {
		if h = hostOnly(h); h != "" && !strings.HasPrefix(h, "/") && !isLoopback(h) {
			v.addf(key, "a database on another host needs sslmode=verify-full (or verify-ca) and sslrootcert: the store holds recipient addresses")
			return
		}
	}
}

// hostOnly strips a port and IPv6 brackets from a URL host.
func hostOnly(h string) string {
	if strings.HasPrefix(h, "[") {
		if i := strings.Index(h, "]"); i > 0 {
			return h[1:i]
		}
	}
	if i := strings.LastIndex(h, ":"); i >= 0 && !strings.Contains(h[:i], ":") {
		return h[:i]
	}
	return h
}
