package config

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sealgate/sealgate/addr"
	"github.com/sealgate/sealgate/passwd"
)

// validator checks one Config and collects what is wrong with it.
type validator struct {
	*collector
	c    *Config
	opts Options
}

// Validate checks the whole config and returns every problem as Errors, or
// nil. Unless opts.SkipFileChecks is set, it also reads the certificates,
// keys and folders the config names.
func (c *Config) Validate(opts Options) error {
	v := &validator{collector: &collector{src: c.src}, c: c, opts: opts}
	v.general()
	v.listeners()
	v.clients()
	v.unsubscribeMailto()
	v.policy()
	v.encryption()
	v.delivery()
	v.dkim()
	v.store()
	v.portal()
	v.api()
	v.webhooks()
	v.bounces()
	v.cluster()
	v.addressOverlaps()
	if !opts.SkipFileChecks {
		v.files()
	}
	return v.err()
}

// oneOf checks that value is one of allowed.
func (v *validator) oneOf(path, value string, allowed ...string) bool {
	if slices.Contains(allowed, value) {
		return true
	}
	v.addf(path, "%q is not one of %s", value, strings.Join(allowed, ", "))
	return false
}

// atLeast checks that a limit is at least min.
func (v *validator) atLeast(path string, value, min int64) {
	if value < min {
		v.addf(path, "must be at least %d", min)
	}
}

// pair checks that two keys are set together.
func (v *validator) pair(pathA, a, pathB, b string) {
	switch {
	case a != "" && b == "":
		v.addf(pathB, "missing: %s is set", pathA)
	case a == "" && b != "":
		v.addf(pathA, "missing: %s is set", pathB)
	}
}

// general checks the top-level scalars, limits, queue, metrics and log.
func (v *validator) general() {
	c := v.c
	if !addr.HostName(c.Hostname) {
		v.addf("hostname", "%q is not a valid host name", c.Hostname)
	}
	if c.DataDir == "" {
		v.addf("data_dir", "must be set")
	}
	v.pair("tls.cert", c.TLS.Cert, "tls.key", c.TLS.Key)
	l := c.Limits
	v.atLeast("limits.max_message_size", l.MaxMessageSize, 1024)
	v.atLeast("limits.max_recipients", int64(l.MaxRecipients), 1)
	// RFC 5321 §4.5.3.1.6: a text line may be 1000 octets with CRLF.
	v.atLeast("limits.max_line_length", int64(l.MaxLineLength), 1000)
	v.atLeast("limits.command_timeout", int64(l.CommandTimeout), 1)
	v.atLeast("limits.data_timeout", int64(l.DataTimeout), 1)
	v.atLeast("limits.session_lifetime", int64(l.SessionLifetime), 1)
	v.atLeast("limits.max_connections", int64(l.MaxConnections), 1)
	v.atLeast("limits.max_connections_per_client", int64(l.MaxConnectionsPerClient), 1)
	v.atLeast("limits.max_auth_failures", int64(l.MaxAuthFailures), 1)
	if within(c.Queue.KeyFile, c.SpoolDir()) {
		v.addf("queue.key_file", "must not be inside the spool (%s): the key must live apart from what it protects", c.SpoolDir())
	}
	if within(c.Log.AuditKeyFile, c.SpoolDir()) || c.Log.AuditKeyFile == c.Log.AuditFile {
		v.addf("log.audit_key_file", "must be a file of its own, outside the spool and apart from the audit log it signs")
	}
	if c.Metrics.Listen != "" {
		v.address("metrics.listen", c.Metrics.Listen)
	}
	v.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	v.oneOf("log.format", c.Log.Format, "text", "json")
}

// within reports whether path is dir or inside it.
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// listeners checks each SMTP listener's address and security modes.
func (v *validator) listeners() {
	if len(v.c.Listeners) == 0 {
		v.addf("listeners", "at least one listener is required")
	}
	names := map[string]string{}
	for i, l := range v.c.Listeners {
		p := fmt.Sprintf("listeners[%d]", i)
		v.uniqueName(names, p, l.Name)
		tlsOK := v.oneOf(p+".tls", l.TLS, TLSNone, TLSStartTLS, TLSImplicit)
		authOK := v.oneOf(p+".auth", l.Auth, AuthRequired, AuthOptional, AuthNone)
		loopback, ok := v.address(p+".address", l.Address)
		if ok && tlsOK && authOK {
			v.listenerSecurity(p, l, loopback)
		}
	}
}

// uniqueName checks that name is set and not used before in names.
func (v *validator) uniqueName(names map[string]string, path, name string) {
	switch prev, dup := names[name]; {
	case name == "":
		v.addf(path+".name", "must be set")
	case dup:
		v.addf(path+".name", "%q is already the name of %s", name, prev)
	default:
		names[name] = path
	}
}

// listenerSecurity refuses insecure combinations: insecure modes never
// switch on silently.
func (v *validator) listenerSecurity(p string, l Listener, loopback bool) {
	switch {
	case l.TLS == TLSNone && !loopback:
		v.addf(p+".tls", "tls: none is only allowed on a loopback address; mail on the network must be encrypted")
	case l.TLS == TLSNone && l.Auth != AuthNone:
		v.addf(p+".auth", "AUTH needs TLS: use tls: starttls or implicit, or auth: none")
	case l.TLS != TLSNone && v.c.TLS.Cert == "":
		v.addf(p+".tls", "tls: %s needs tls.cert and tls.key (or tls.generate: true)", l.TLS)
	}
	if l.Auth == AuthNone && !loopback && !v.hasNonAuthClient(l.TLS != TLSNone) {
		v.addf(p+".auth", "auth: none on a non-loopback address needs a client identified by networks (no client has any)")
	}
}

// hasNonAuthClient reports whether some client can be identified without
// AUTH: by network, or by certificate when the listener has TLS.
func (v *validator) hasNonAuthClient(tls bool) bool {
	for _, cl := range v.c.Clients {
		if len(cl.Networks) > 0 || tls && len(cl.CertFingerprints) > 0 {
			return true
		}
	}
	return false
}

// clients checks that every client can be identified and may send.
func (v *validator) clients() {
	names, users := map[string]string{}, map[string]string{}
	nets, fps := map[netip.Prefix]string{}, map[string]string{}
	for i, cl := range v.c.Clients {
		p := fmt.Sprintf("clients[%d]", i)
		v.uniqueName(names, p, cl.Name)
		v.clientLogin(p, cl, users)
		if cl.Username == "" && cl.PasswordHash == "" && len(cl.Networks) == 0 && len(cl.CertFingerprints) == 0 {
			v.addf(p, "client %q has no way to be identified: set username and password_hash, networks or cert_fingerprints", cl.Name)
		}
		for j, n := range cl.Networks {
			claim(v, nets, n, fmt.Sprintf("%s.networks[%d]", p, j), "network "+n.String())
		}
		for j, f := range cl.CertFingerprints {
			fp := fmt.Sprintf("%s.cert_fingerprints[%d]", p, j)
			if n, err := normFingerprint(f); err != nil {
				v.addf(fp, "%v", err)
			} else {
				claim(v, fps, n, fp, "fingerprint")
			}
		}
		v.senders(p+".allowed_senders", cl.AllowedSenders)
		if cl.Kind != "" && v.oneOf(p+".kind", cl.Kind, KindTransactional, KindMarketing) &&
			cl.Marketing() && v.c.Portal.BaseURL == "" {
			v.addf(p+".kind", "marketing mail needs portal.base_url for its one-click unsubscribe links")
		}
	}
}

// unsubscribeMailto checks portal.unsubscribe_mailto, a plain address.
func (v *validator) unsubscribeMailto() {
	if m := v.c.Portal.UnsubscribeMailto; m != "" {
		if _, err := addr.Parse(m, addr.Options{}); err != nil {
			v.addf("portal.unsubscribe_mailto", "%q is not a mail address", m)
		}
	}
}

// claim records that path owns key, refusing a second owner.
func claim[K comparable](v *validator, owners map[K]string, key K, path, what string) {
	if prev, dup := owners[key]; dup {
		v.addf(path, "%s is already used by %s", what, prev)
		return
	}
	owners[key] = path
}

// clientLogin checks username and password_hash. The hash is never echoed.
func (v *validator) clientLogin(p string, cl Client, users map[string]string) {
	v.pair(p+".username", cl.Username, p+".password_hash", cl.PasswordHash)
	if cl.Username != "" {
		claim(v, users, cl.Username, p+".username", fmt.Sprintf("username %q", cl.Username))
	}
	if cl.PasswordHash != "" {
		if err := passwd.Valid(cl.PasswordHash); err != nil {
			v.addf(p+".password_hash", "not a valid argon2id or bcrypt hash (make one with `sealgate passwd`)")
		}
	}
}

// senders checks allowed_senders patterns.
func (v *validator) senders(path string, pats []string) {
	if len(pats) == 0 {
		v.addf(path, "must list at least one sender pattern (\"*\" allows any)")
	}
	for i, s := range pats {
		if s != NullSender && addr.CheckGlob(s) != nil {
			v.addf(fmt.Sprintf("%s[%d]", path, i), "%q is not a sender pattern (want *, *@domain, *@*.domain, user@domain, user@*.domain or <> for the null sender)", s)
		}
	}
}
