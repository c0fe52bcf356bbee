package delivery

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"

	"github.com/miekg/dns"
	"github.com/sealgate/sealgate/dane"
	"github.com/sealgate/sealgate/mail"
	"github.com/sealgate/sealgate/mailtext"
	"github.com/sealgate/sealgate/mtasts"
	"github.com/sealgate/sealgate/tlsrpt"
)

// hopTLS is what the transport to one next hop must satisfy, decided from
// the configured policy, the delivery, MTA-STS and DANE before connecting.
type hopTLS struct {
	domain   string        // the recipient (policy) domain
	level    mail.TLSLevel // minimum transport
	mxSecure bool          // the MX answer was DNSSEC-authentic
	// tlsa are the usable, DNSSEC-secure TLSA records: when set, a TLSA
	// match is required and PKIX is not (RFC 7672 §2.2, §3).
	tlsa []*dns.TLSA
	// sts is the domain's MTA-STS policy (enforce or testing), if any.
	sts *mtasts.Policy
	// pinned: a route or smarthost in Config.TrustedHops, its name from
	// the configuration.
	pinned bool
	// err, when set, forbids the hop (DANE required but not available, or
	// an address or TLSA lookup that failed for a signed host).
	err *Error
}

// enforced reports whether an MTA-STS policy in enforce mode applies.
func (t hopTLS) enforced() bool { return t.sts != nil && t.sts.Mode == mtasts.ModeEnforce }

// authKind names how the peer must be authenticated; it is part of the
// pool key so a session is only reused for the same demand. It is also
// the Verification a successful check of this hop records.
func (t hopTLS) authKind() mail.Verification {
	switch {
	case len(t.tlsa) > 0:
		return mail.VerifiedDANE
	case t.enforced():
		return mail.VerifiedMTASTS
	case t.pinned:
		return mail.VerifiedPinned
	}
	return ""
}

// authenticated reports whether the hop's identity can be authenticated
// end to end, as TLSAuthenticated needs: DANE, an enforced MTA-STS policy
// that lists it, or a trusted configured destination.
func (t hopTLS) authenticated() bool { return t.authKind() != "" }

var (
	errSTSNoMatch = errors.New("no MX host matches the domain's MTA-STS policy")
	errNoDANE     = errors.New("DANE required and no usable DNSSEC-signed TLSA records")
	errNotAuth    = errors.New("next hop's identity cannot be authenticated: no DANE, no enforced MTA-STS policy, not a trusted route or smarthost")
)

// requirement is what d asks of the transport to hops before MTA-STS and
// DANE: the domain policy raised by the delivery's own level, REQUIRETLS
// and smarthost credentials. Levels only go up.
func (c *Client) requirement(d *mail.Delivery, hops []hop) requirement {
	r := c.policyFor(d.Domain).requirement()
	r = r.raise(requirement{level: d.TLS})
	if d.RequireTLS || (len(hops) > 0 && hops[0].auth) {
		r = r.raise(requirement{level: mail.TLSVerify})
	}
	return r
}

// plan chooses the next hops for d and what each must satisfy. report
// says whether the policy failures found on the way (an MTA-STS policy
// that could not be fetched, unusable TLSA records) go to the TLS reports:
// they do for a delivery, not for a look-up ahead of one (Find), whose
// delivery, or its fallback's, reports them.
func (c *Client) plan(ctx context.Context, d *mail.Delivery, report bool) ([]hop, *Error) {
	hops, err := c.hops(ctx, d.Domain)
	if err != nil {
		return nil, err
	}
	req := c.requirement(d, hops)
	for i := range hops {
		hops[i].tls.domain, hops[i].tls.level = strings.ToLower(d.Domain), req.level
	}
	// RFC 8689 §5: the sender may waive MTA-STS and DANE, when allowed;
	// a dane or dane-only domain policy still applies.
	waived := c.cfg.HonorTLSRequiredNo && !d.RequireTLS && tlsRequiredNo(d.Body)
	if c.sts != nil && !waived && len(hops) > 0 && hops[0].mx {
		if hops, err = c.applySTS(ctx, d.Domain, hops, report); err != nil {
			return nil, err
		}
	}
	if (c.cfg.DANE && !waived) || req.dane >= PolicyDANE {
		for i := range hops {
			c.applyDANE(ctx, req, &hops[i], report)
		}
	}
	for i := range hops {
		requireAuthenticated(&hops[i])
	}
	if !waived && ctx.Err() == nil { // a plan cut short found less than there is
		c.reach.plan(strings.ToLower(d.Domain), hops)
	}
	return hops, nil
}

// requireAuthenticated forbids h when its level is TLSAuthenticated and
// its identity cannot be authenticated end to end. What cannot be verified
// is not verified: the failure is a TLS failure, so a PHI recipient moves
// on to its next protection method.
func requireAuthenticated(h *hop) {
	if h.tls.level < mail.TLSAuthenticated || h.tls.err != nil || h.tls.authenticated() {
		return
	}
	h.tls.err = localError(false, "4.7.5", CmdTLS, h.host,
		"authenticated transport required and the next hop cannot be authenticated", errNotAuth)
}

// tlsRequiredNo reports whether the message header has "TLS-Required: No"
// (RFC 8689 §5.1; case-insensitive, surrounding space ignored). A header
// that does not read (mailtext.ParseHeader) waives nothing.
func tlsRequiredNo(body []byte) bool {
	h, err := mailtext.ParseHeader(body)
	return err == nil && strings.EqualFold(h.Get("TLS-Required"), "No")
}

// applySTS applies the domain's MTA-STS policy (RFC 8461 §4, §5): in
// enforce mode, MX hosts that do not match are dropped and the others need
// a PKIX-verified certificate; in testing mode, mismatches are reported
// only. A policy that could not be fetched is reported and ignored.
func (c *Client) applySTS(ctx context.Context, domain string, hops []hop, report bool) ([]hop, *Error) {
	pol, err := c.sts.Get(ctx, domain)
	if err != nil {
		c.reportTLS(report, stsFailure(domain, err))
	}
	if pol == nil {
		return hops, nil
	}
	kept := hops[:0]
	for _, h := range hops {
		h.tls.sts = pol
		if !pol.Match(h.host) {
			r := policyResult(h, tlsrpt.ResultValidationFailure)
			r.Detail = "MX host does not match the MTA-STS policy"
			c.reportTLS(report, r)
			if pol.Mode == mtasts.ModeEnforce {
				continue
			}
		}
		if pol.Mode == mtasts.ModeEnforce {
			h.tls.level = max(h.tls.level, mail.TLSVerify)
		}
		kept = append(kept, h)
	}
	if len(kept) == 0 {
		return nil, localError(false, "4.7.5", CmdTLS, "", "no MX host matches the MTA-STS policy", errSTSNoMatch)
	}
	return kept, nil
}

// stsFailure is the report of a policy that was announced but could not be
// had.
func stsFailure(domain string, err error) tlsrpt.Result {
	r := tlsrpt.Result{PolicyType: tlsrpt.PolicySTS, PolicyDomain: strings.ToLower(domain),
		ResultType: tlsrpt.ResultSTSFetchError}
	switch {
	case errors.Is(err, mtasts.ErrWebPKI):
		r.ResultType = tlsrpt.ResultSTSWebPKIError
	case errors.Is(err, mtasts.ErrPolicy):
		r.ResultType = tlsrpt.ResultSTSInvalid
	}
	return r
}

// applyDANE looks up the TLSA records of h when its names are DNSSEC-
// secure (RFC 7672 §2.2): usable secure records make a TLSA match
// required; secure records that are all unusable still require TLS;
// a failed address or TLSA lookup for a signed host forbids it (whether
// it has DANE is not known); an insecure or absent answer leaves the
// requirement as it was, unless DANE is required.
func (c *Client) applyDANE(ctx context.Context, req requirement, h *hop, report bool) {
	if !c.daneEligible(*h) {
		c.daneUnavailable(req, h, report)
		return
	}
	ips, secure, err := c.sres.LookupHostSecure(ctx, h.host)
	switch {
	case err != nil && !isNotFound(err):
		h.tls.err = localError(false, "4.4.3", CmdDNS, h.host, "address lookup failed for a DNSSEC-signed host", err)
		return
	case err != nil:
		return // no address: the dial reports it
	}
	h.ips = ips
	if !secure {
		c.daneUnavailable(req, h, report)
		return
	}
	port, _ := strconv.Atoi(h.port)
	recs, secure, err := c.sres.LookupTLSA(ctx, port, h.host)
	switch {
	case err != nil && !isNotFound(err):
		h.tls.err = localError(false, "4.7.5", CmdDNS, h.host, "TLSA lookup failed for a DNSSEC-signed host", err)
		c.reportTLS(report, policyResult(*h, tlsrpt.ResultDNSSECInvalid))
	case err != nil || !secure || len(recs) == 0:
		c.daneUnavailable(req, h, report)
	default:
		h.tls.level = max(h.tls.level, mail.TLSEncrypt)
		h.tls.tlsa = dane.Usable(recs)
		if len(h.tls.tlsa) == 0 {
			c.reportTLS(report, policyResult(*h, tlsrpt.ResultTLSAInvalid))
			c.daneUnavailable(req, h, report)
		}
	}
}

// daneEligible: a resolver whose AD bit is trusted, a host name (not an IP
// literal), and for MX hosts a secure MX answer (RFC 7672 §2.2.1). Routes
// and the smarthost are the operator's choice and need no MX.
func (c *Client) daneEligible(h hop) bool {
	if c.sres == nil || !c.sres.TrustAD() || net.ParseIP(h.host) != nil {
		return false
	}
	return !h.mx || h.tls.mxSecure
}

// daneUnavailable forbids h when DANE is required (dane-only).
func (c *Client) daneUnavailable(req requirement, h *hop, report bool) {
	if req.dane != PolicyDANEOnly {
		return
	}
	h.tls.err = localError(false, "4.7.5", CmdTLS, h.host, "DANE is required and not available for the next hop", errNoDANE)
	c.reportTLS(report, policyResult(*h, tlsrpt.ResultDANERequired))
}

// policyResult is a report for h with the policy that applies to it.
func policyResult(h hop, result string) tlsrpt.Result {
	r := tlsrpt.Result{PolicyType: tlsrpt.PolicyNotFound, PolicyDomain: h.tls.domain, MXHost: h.host, ResultType: result}
	switch {
	case len(h.tls.tlsa) > 0 || result == tlsrpt.ResultTLSAInvalid || result == tlsrpt.ResultDNSSECInvalid || result == tlsrpt.ResultDANERequired:
		r.PolicyType = tlsrpt.PolicyTLSA
		for _, t := range h.tls.tlsa {
			r.PolicyStrings = append(r.PolicyStrings, tlsaString(t))
		}
	case h.tls.sts != nil:
		r.PolicyType = tlsrpt.PolicySTS
		r.PolicyStrings, r.MXPatterns = h.tls.sts.Strings(), h.tls.sts.MX
	}
	return r
}

// tlsaString is a TLSA record's data as RFC 8460 §4.4's example shows it.
func tlsaString(t *dns.TLSA) string {
	return strconv.Itoa(int(t.Usage)) + " " + strconv.Itoa(int(t.Selector)) + " " +
		strconv.Itoa(int(t.MatchingType)) + " " + strings.ToUpper(t.Certificate)
}
