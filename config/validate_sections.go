package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	gopath "path"
	"regexp"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // portal.time_zone is checked the same where the host has no zoneinfo

	"github.com/sealgate/sealgate/addr"
	"github.com/sealgate/sealgate/internal/i18n"
	"github.com/sealgate/sealgate/internal/mimelimit"
)

var (
	actions = []string{ActionDeliver, ActionEncrypt, ActionBlock, ActionQuarantine}
	methods = []string{MethodPGP, MethodSMIME, MethodTLS, MethodPortal}
)

// policy checks the default action, tags, rules and scan limits.
func (v *validator) policy() {
	p := v.c.Policy
	v.oneOf("policy.default_action", p.DefaultAction, DefaultEncryptIfPHI, DefaultEncryptAll, DefaultDeliver)
	for i, t := range p.SubjectTags {
		if strings.TrimSpace(t) == "" {
			v.addf(fmt.Sprintf("policy.subject_tags[%d]", i), "must not be empty")
		}
	}
	v.oneOf("policy.unreadable", p.Unreadable, actions...)
	names := map[string]string{}
	for i, r := range p.Rules {
		path := fmt.Sprintf("policy.rules[%d]", i)
		claim(v, names, r.Name, path+".name", fmt.Sprintf("rule name %q", r.Name))
		v.match(path+".if", r.If)
		v.then(path+".then", r.Then)
	}
	v.scanLimits(p.Scan)
}

// scanLimits checks that every limit on reading a message is set.
func (v *validator) scanLimits(s ScanLimits) {
	v.atLeast("policy.scan.max_depth", int64(s.MaxDepth), 1)
	v.atLeast("policy.scan.max_parts", int64(s.MaxParts), 1)
	if s.MaxParts > mimelimit.MaxParts {
		// The pickup portal reads at most this many parts: a message the policy passed
		// with more would fail at the hand-off.
		v.addf("policy.scan.max_parts", "must be at most %d (the parts the pickup portal reads)", mimelimit.MaxParts)
	}
	v.atLeast("policy.scan.max_decoded_bytes", s.MaxDecodedBytes, 1)
	v.atLeast("policy.scan.max_part_bytes", s.MaxPartBytes, 1)
	v.atLeast("policy.scan.max_unzip_bytes", s.MaxUnzipBytes, 1)
	v.atLeast("policy.scan.max_zip_entries", int64(s.MaxZipEntries), 1)
	v.atLeast("policy.scan.max_xml_depth", int64(s.MaxXMLDepth), 1)
	v.atLeast("policy.scan.timeout", int64(s.Timeout), 1)
	v.oneOf("policy.scan.media", s.Media, MediaDecoration, MediaProtect, MediaIgnore)
}

// then checks an action and its method.
func (v *validator) then(path string, t Then) {
	if t.Action == "" {
		v.addf(path, "must be set")
		return
	}
	if v.oneOf(path, t.Action, actions...) && t.Method != "" {
		v.oneOf(path+".encrypt", t.Method, methods...)
	}
}

var headerNameRE = regexp.MustCompile(`^[!-9;-~]+$`) // RFC 5322 §3.6.8 ftext

// match checks a rule's conditions: at least one, well-formed globs, a
// client name that exists, a "Name: value" header condition.
func (v *validator) match(path string, m Match) {
	if m.SubjectTag+m.RecipientDomain+m.Sender+m.Client+m.Header == "" {
		v.addf(path, "a rule needs at least one condition (subject_tag, recipient_domain, sender, client, header)")
	}
	v.glob(path+".recipient_domain", m.RecipientDomain)
	v.glob(path+".sender", m.Sender)
	if v.glob(path+".client", m.Client) && m.Client != "" && !strings.ContainsAny(m.Client, `*?[\`) &&
		!slices.ContainsFunc(v.c.Clients, func(c Client) bool { return c.Name == m.Client }) {
		v.addf(path+".client", "no client is named %q", m.Client)
	}
	if m.Header != "" {
		name, value, ok := strings.Cut(m.Header, ":")
		if !ok || !headerNameRE.MatchString(strings.TrimSpace(name)) {
			v.addf(path+".header", "want \"Name: value\", got %q", m.Header)
		} else {
			v.glob(path+".header", strings.TrimSpace(value))
		}
	}
}

// glob checks a shell-style pattern (path.Match syntax); "" is fine.
func (v *validator) glob(path, pattern string) bool {
	if _, err := gopath.Match(pattern, ""); err != nil {
		v.addf(path, "bad pattern %q", pattern)
		return false
	}
	return true
}

// encryption checks the method order and the PGP and S/MIME settings.
func (v *validator) encryption() {
	e := v.c.Encrypt
	if len(e.Order) == 0 {
		v.addf("encryption.order", "must list at least one method (%s)", strings.Join(methods, ", "))
	}
	seen := map[string]string{}
	for i, m := range e.Order {
		p := fmt.Sprintf("encryption.order[%d]", i)
		if v.oneOf(p, m, methods...) {
			claim(v, seen, m, p, "method "+m)
		}
	}
	v.pair("encryption.smime.sign_cert", e.SMIME.SignCert, "encryption.smime.sign_key", e.SMIME.SignKey)
	v.headerText("encryption.subject", e.Subject)
	v.headerText("encryption.portal_subject", e.PortalSubject)
	if v.usesPortal() && v.c.Portal.BaseURL == "" {
		v.addf("portal.base_url", "must be set: the portal is an encryption method (encryption.order or a rule) and notifications link to it")
	}
}

// headerText checks a value that becomes a header: set, no line breaks.
func (v *validator) headerText(path, s string) {
	if strings.TrimSpace(s) == "" || strings.ContainsAny(s, "\r\n\x00") {
		v.addf(path, "must be a non-empty single line")
	}
}

// usesPortal reports whether any configured path can lead to the portal.
func (v *validator) usesPortal() bool {
	p := v.c.Policy
	if slices.Contains(v.c.Encrypt.Order, MethodPortal) {
		return true
	}
	return slices.ContainsFunc(p.Rules, func(r Rule) bool { return r.Then.Method == MethodPortal })
}

// delivery checks routes, smarthost, TLS policy, DNS and retries.
func (v *validator) delivery() {
	d := v.c.Delivery
	for dom, hp := range d.Routes {
		p := "delivery.routes[" + dom + "]"
		if !addr.HostName(dom) {
			v.addf(p, "%q is not a domain", dom)
		}
		v.nextHop(p, hp)
	}
	if d.Smarthost != "" {
		v.nextHop("delivery.smarthost", d.Smarthost)
	}
	a := d.SmarthostAuth
	v.pair("delivery.smarthost_auth.username", a.Username, "delivery.smarthost_auth.password_file", a.PasswordFile)
	if a.Username != "" && d.Smarthost == "" {
		v.addf("delivery.smarthost_auth", "set, but delivery.smarthost is not")
	}
	v.tlsPolicy(d)
	for i, s := range d.DNS.Servers {
		v.nextHop(fmt.Sprintf("delivery.dns.servers[%d]", i), s)
	}
	v.retry(d.Retry)
	v.atLeast("delivery.max_connections_per_destination", int64(d.MaxConnectionsPerDestination), 1)
	v.atLeast("delivery.max_connections", int64(d.MaxConnections), int64(d.MaxConnectionsPerDestination))
	v.shaping(d.Shaping)
}

// shaping checks delivery.shaping: positive limits and durations, and
// providers named by a domain.
func (v *validator) shaping(s Shaping) {
	const p = "delivery.shaping"
	v.shapingLimits(p, s.ShapingLimits, false)
	v.atLeast(p+".hold", int64(s.Hold), 1)
	v.atLeast(p+".recover_step", int64(s.RecoverStep), 1)
	v.atLeast(p+".max_wait", int64(s.MaxWait), 1)
	for name, l := range s.Providers {
		pp := p + ".providers[" + name + "]"
		if !addr.HostName(name) || name != strings.ToLower(name) {
			v.addf(pp, "%q is not a lower-case domain (the registrable domain of the provider's MX hosts)", name)
		}
		v.shapingLimits(pp, l, true)
	}
}

// shapingLimits checks one budget; in a provider override, 0 means the
// default.
func (v *validator) shapingLimits(p string, l ShapingLimits, override bool) {
	min := int64(1)
	if override {
		min = 0
	}
	v.atLeast(p+".connections", int64(l.Connections), min)
	v.atLeast(p+".messages_per_connection", int64(l.MessagesPerConnection), min)
	v.atLeast(p+".per_minute", int64(l.PerMinute), 0)
	v.atLeast(p+".per_hour", int64(l.PerHour), 0)
}

// nextHop checks a host:port destination.
func (v *validator) nextHop(path, hp string) {
	host, port, err := hostPort(hp)
	switch {
	case err != nil:
		v.addf(path, "%v", err)
	case port == 0:
		v.addf(path, "port must not be 0")
	case !addr.HostName(host):
		if _, err := netip.ParseAddr(host); err != nil {
			v.addf(path, "%q is not a host name or IP address", host)
		}
	}
}

// tlsPolicy checks delivery.tls.policy levels and TLS reporting.
func (v *validator) tlsPolicy(d Delivery) {
	for dom, level := range d.TLS.Policy {
		p := "delivery.tls.policy[" + dom + "]"
		if dom != "default" && !addr.HostName(strings.TrimPrefix(dom, "*.")) {
			v.addf(p, "%q is not a domain", dom)
		}
		if v.oneOf(p, level, TLSPolicyNone, TLSPolicyMay, TLSPolicyEncrypt, TLSPolicyVerify,
			TLSPolicyDANE, TLSPolicyDANEOnly) && level == TLSPolicyDANEOnly && !d.DNS.TrustAD {
			v.addf(p, "dane-only needs delivery.dns.trust_ad: true (a validating resolver)")
		}
	}
	for i, hp := range d.TLS.TrustedHops {
		if !isConfiguredHop(d, hp) {
			v.addf(fmt.Sprintf("delivery.tls.trusted_hops[%d]", i), "%q is neither a value of delivery.routes nor delivery.smarthost", hp)
		}
	}
	if d.TLS.Report.Enabled && d.TLS.Report.Organization == "" {
		v.addf("delivery.tls.report.organization", "must be set when TLS reporting is enabled")
	}
}

// isConfiguredHop reports whether hp is a route's or the smarthost's
// host:port (host compared case-insensitively).
func isConfiguredHop(d Delivery, hp string) bool {
	same := func(a string) bool {
		ah, ap, err1 := net.SplitHostPort(a)
		bh, bp, err2 := net.SplitHostPort(hp)
		return err1 == nil && err2 == nil && ap == bp && strings.EqualFold(strings.TrimSuffix(ah, "."), strings.TrimSuffix(bh, "."))
	}
	if d.Smarthost != "" && same(d.Smarthost) {
		return true
	}
	for _, r := range d.Routes {
		if same(r) {
			return true
		}
	}
	return false
}

// retry checks that the schedule is non-empty and increasing.
func (v *validator) retry(r Retry) {
	if len(r.Schedule) == 0 {
		v.addf("delivery.retry.schedule", "must list at least one interval")
	}
	for i, d := range r.Schedule {
		p := fmt.Sprintf("delivery.retry.schedule[%d]", i)
		switch {
		case d <= 0:
			v.addf(p, "must be longer than 0")
		case i > 0 && d <= r.Schedule[i-1]:
			v.addf(p, "%v is not longer than the interval before it (%v); the schedule must increase", d, r.Schedule[i-1])
		}
	}
	v.atLeast("delivery.retry.max_age", int64(r.MaxAge), 1)
}

// dkim checks each signing key's domain and selector.
func (v *validator) dkim() {
	doms := map[string]string{}
	for i, k := range v.c.DKIM {
		p := fmt.Sprintf("dkim[%d]", i)
		if !addr.HostName(k.Domain) {
			v.addf(p+".domain", "%q is not a domain", k.Domain)
		} else {
			claim(v, doms, strings.ToLower(k.Domain), p+".domain", "domain "+k.Domain)
		}
		if !addr.HostName(k.Selector) {
			v.addf(p+".selector", "%q is not a valid selector", k.Selector)
		}
		if k.Key == "" {
			v.addf(p+".key", "must be set")
		}
	}
}

var colorRE = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// portal checks the pickup site's URL and timeouts (its store: store).
func (v *validator) portal() {
	p := v.c.Portal
	if p.BaseURL != "" {
		v.baseURL(p.BaseURL)
	}
	v.atLeast("portal.message_ttl", int64(p.MessageTTL), 1)
	v.atLeast("portal.session_idle", int64(p.SessionIdle), 1)
	v.atLeast("portal.code_ttl", int64(p.CodeTTL), 1)
	v.atLeast("portal.max_code_attempts", int64(p.MaxCodeAttempts), 1)
	v.pair("portal.tls.cert", p.TLS.Cert, "portal.tls.key", p.TLS.Key)
	if p.Listen != "" {
		v.address("portal.listen", p.Listen)
	}
	if p.Listen != "" && v.c.PortalTLS().Cert == "" {
		v.addf("portal.listen", "the portal serves HTTPS only: set tls.cert/tls.key or portal.tls")
	}
	if p.Branding.Color != "" && !colorRE.MatchString(p.Branding.Color) {
		v.addf("portal.branding.color", "want #RRGGBB, got %q", p.Branding.Color)
	}
	v.portalPeople()
}

// phoneRE is a phone number as people write it: digits, spaces, dashes,
// dots, brackets and a leading +.
var phoneRE, digitRE = regexp.MustCompile(`^\+?[0-9 ().\-/]{3,40}$`), regexp.MustCompile(`[0-9]`)

// portalPeople checks what patients read: sender, language, time zone
// and contact.
func (v *validator) portalPeople() {
	p := v.c.Portal
	for _, f := range [][2]string{{"portal.from", p.From}, {"portal.branding.support_email", p.Branding.SupportEmail}} {
		if _, err := addr.Parse(f[1], addr.Options{}); f[1] != "" && err != nil {
			v.addf(f[0], "want an e-mail address such as help@example.org")
		}
	}
	if p.FromName != "" {
		v.headerText("portal.from_name", p.FromName)
	}
	if p.Language != "" && !i18n.Supported(p.Language) {
		v.addf("portal.language", "want one of %s, got %q", strings.Join(i18n.Codes(), ", "), p.Language)
	}
	if p.TimeZone != "" {
		if _, err := time.LoadLocation(p.TimeZone); err != nil || p.TimeZone == "Local" {
			v.addf("portal.time_zone", "want an IANA time zone such as America/New_York, got %q", p.TimeZone)
		}
	}
	if ph := p.Branding.SupportPhone; ph != "" && (!phoneRE.MatchString(ph) || len(digitRE.FindAllString(ph, -1)) < 3) {
		v.addf("portal.branding.support_phone", "want a phone number such as +1 (555) 010-0100")
	}
}

// baseURL checks the portal link base: https, or http on loopback only.
func (v *validator) baseURL(s string) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		v.addf("portal.base_url", "want an absolute URL such as https://secure.example.org")
		return
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname())) {
		v.addf("portal.base_url", "must be https (http only for a loopback host)")
	}
}

// api checks the HTTP send API's listener and limits.
func (v *validator) api() {
	a := v.c.API
	v.pair("api.tls.cert", a.TLS.Cert, "api.tls.key", a.TLS.Key)
	if a.Listen == "" {
		return
	}
	v.address("api.listen", a.Listen)
	if v.c.APITLS().Cert == "" {
		v.addf("api.listen", "the API serves HTTPS only: set tls.cert/tls.key or api.tls")
	}
	if len(v.c.Clients) == 0 {
		v.addf("api.listen", "no clients are configured: every API key belongs to a client")
	}
	v.atLeast("api.max_request_size", a.MaxRequestSize, 1024)
}

// webhooks checks each receiver: an https URL (http only on loopback), a
// secret file and known events.
func (v *validator) webhooks() {
	for i, w := range v.c.Webhooks {
		p := fmt.Sprintf("webhooks[%d]", i)
		u, err := url.Parse(w.URL)
		switch {
		case w.URL == "":
			v.addf(p+".url", "must be set")
		case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
			v.addf(p+".url", "want an https:// URL, got %q", w.URL)
		case u.Scheme == "http" && !loopbackHost(u.Hostname()):
			v.addf(p+".url", "must be https: events name recipients (http is allowed only to a loopback address)")
		}
		if w.SecretFile == "" {
			v.addf(p+".secret_file", "must be set: every event is signed")
		}
		if len(w.Events) == 0 {
			v.addf(p+".events", "must name at least one of %s", strings.Join(WebhookEvents, ", "))
		}
		for j, e := range w.Events {
			v.oneOf(fmt.Sprintf("%s.events[%d]", p, j), e, WebhookEvents...)
		}
	}
}

// loopbackHost reports whether host is a loopback IP or "localhost".
func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// bouncesLocalRE is the fixed part of a bounce address: letters, digits,
// dots, dashes and underscores, no "+" (it separates the token).
var bouncesLocalRE = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)

// bounces checks the VERP domain, the listener and the feedback address.
func (v *validator) bounces() {
	b := v.c.Bounces
	if !b.Enabled() {
		return
	}
	if !addr.HostName(b.Domain) || !strings.Contains(b.Domain, ".") {
		v.addf("bounces.domain", "%q is not a valid domain name", b.Domain)
	}
	if len(b.LocalPart) > 20 || !bouncesLocalRE.MatchString(b.LocalPart) {
		v.addf("bounces.local_part", "want up to 20 letters, digits, dots, dashes or underscores (no +), got %q", b.LocalPart)
	}
	if loopback, ok := v.address("bounces.listen", b.Listen); ok && !loopback && v.c.TLS.Cert == "" {
		v.addf("bounces.listen", "a listener beyond loopback offers STARTTLS: set tls.cert/tls.key")
	}
	if f := b.FeedbackAddress; f != "" {
		if _, err := addr.Parse(f, addr.Options{}); err != nil {
			v.addf("bounces.feedback_address", "%q is not a mail address", f)
		}
	}
	if b.Retention < 24*time.Hour {
		v.addf("bounces.retention", "must be at least 1d: bounces come back for days")
	}
	v.atLeast("bounces.max_message_size", b.MaxMessageSize, 64<<10)
}

// cluster checks the hand-off channel: listener and peers are addresses,
// and peers authenticate each other by a cluster CA (with this node's
// certificate and key) or a shared secret, or both. A cluster section
// without either is refused: no node takes or sends mail unauthenticated.
func (v *validator) cluster() {
	c := v.c.Cluster
	v.pair("cluster.tls.cert", c.TLS.Cert, "cluster.tls.key", c.TLS.Key)
	if c.TLS.CA != "" && c.TLS.Cert == "" {
		v.addf("cluster.tls.ca", "mutual TLS needs this node's certificate: set cluster.tls.cert and cluster.tls.key")
	}
	if c.Listen != "" {
		v.address("cluster.listen", c.Listen)
	}
	for i, p := range c.Peers {
		if _, _, err := net.SplitHostPort(p); err != nil || p == "" {
			v.addf(fmt.Sprintf("cluster.peers[%d]", i), "want host:port, got %q", p)
		}
	}
	if c.Enabled() && c.TLS.CA == "" && c.SecretFile == "" {
		v.addf("cluster", "peers must authenticate: set cluster.tls (cert, key and the cluster CA) or cluster.secret_file, or both")
	}
}
