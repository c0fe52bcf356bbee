// Package dane matches a TLS server's certificate chain against DNSSEC-
// validated TLSA records, as RFC 7672 (SMTP security via opportunistic
// DANE TLS) prescribes for SMTP: only DANE-TA(2) and DANE-EE(3) are
// usable, with the Cert(0) or SPKI(1) selector and the Full(0),
// SHA2-256(1) or SHA2-512(2) matching type.
//
// Finding the records (secure MX, secure address, secure TLSA RRset) is
// the caller's: this package only judges records and chains.
package dane

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// TLSA certificate usages, selectors and matching types (RFC 6698 §2.1,
// RFC 7218).
const (
	UsagePKIXTA = 0
	UsagePKIXEE = 1
	UsageDANETA = 2
	UsageDANEEE = 3

	SelectorCert = 0
	SelectorSPKI = 1

	MatchFull   = 0
	MatchSHA256 = 1
	MatchSHA512 = 2
)

// Errors of Verify.
var (
	ErrNoRecords = errors.New("dane: no usable TLSA records")
	ErrNoChain   = errors.New("dane: server sent no certificate")
	ErrNoMatch   = errors.New("dane: no TLSA record matches the server's certificates")
)

// Usable returns the records an SMTP client may use: RFC 7672 §3.1.3 makes
// PKIX-TA(0) and PKIX-EE(1) unusable, and RFC 6698 §4.1 makes unknown
// usages, selectors and matching types (and malformed data) unusable.
// When a secure RRset has records but none is usable, the client still
// requires TLS but does not authenticate (RFC 7672 §2.2).
func Usable(recs []*dns.TLSA) []*dns.TLSA {
	var out []*dns.TLSA
	for _, r := range recs {
		if usable(r) {
			out = append(out, r)
		}
	}
	return out
}

func usable(r *dns.TLSA) bool {
	if r.Usage != UsageDANETA && r.Usage != UsageDANEEE {
		return false
	}
	if r.Selector != SelectorCert && r.Selector != SelectorSPKI {
		return false
	}
	data, err := hex.DecodeString(r.Certificate)
	if err != nil {
		return false
	}
	switch r.MatchingType {
	case MatchFull:
		return len(data) > 0
	case MatchSHA256:
		return len(data) == sha256.Size
	case MatchSHA512:
		return len(data) == sha512.Size
	}
	return false
}

// VerifyRequest is what Verify checks.
type VerifyRequest struct {
	// Records are the secure TLSA records of the server (unusable ones are
	// skipped).
	Records []*dns.TLSA
	// Chain is the server's chain, leaf first, as sent.
	Chain []*x509.Certificate
	// Names are the reference identifiers for DANE-TA(2): the MX host name
	// (and, if the caller wishes, the next-hop domain), RFC 7672 §3.2.2.
	// DANE-EE(3) ignores names and validity dates (RFC 7672 §3.1.1).
	Names []string
	// Now is the time for DANE-TA validity checks; zero means time.Now.
	Now time.Time
}

// Verify reports whether the chain matches one usable record: a DANE-EE
// record matching the leaf, or a DANE-TA record matching a certificate the
// server sent above its leaf, from which the leaf then chains for one of
// the names.
func Verify(req VerifyRequest) error {
	recs := Usable(req.Records)
	if len(recs) == 0 {
		return ErrNoRecords
	}
	if len(req.Chain) == 0 {
		return ErrNoChain
	}
	var taErr error
	for _, r := range recs {
		switch r.Usage {
		case UsageDANEEE:
			if matches(r, req.Chain[0]) {
				return nil
			}
		case UsageDANETA:
			err := verifyTA(r, req)
			if err == nil {
				return nil
			}
			taErr = errors.Join(taErr, err)
		}
	}
	if taErr != nil {
		return fmt.Errorf("%w: %w", ErrNoMatch, taErr)
	}
	return ErrNoMatch
}

// verifyTA checks a DANE-TA(2) record: RFC 7672 §3.1.2 requires the server
// to send the trust anchor in its chain.
func verifyTA(r *dns.TLSA, req VerifyRequest) error {
	for _, ta := range req.Chain[1:] {
		if !matches(r, ta) {
			continue
		}
		return chainsTo(ta, req)
	}
	return errNoTA
}

var errNoTA = errors.New("dane: no certificate above the leaf matches a DANE-TA record")

// chainsTo verifies the leaf up to the trust anchor ta for one of the
// names.
func chainsTo(ta *x509.Certificate, req VerifyRequest) error {
	roots := x509.NewCertPool()
	roots.AddCert(ta)
	inter := x509.NewCertPool()
	for _, c := range req.Chain[1:] {
		inter.AddCert(c)
	}
	var last error = errors.New("dane: no reference identifier")
	for _, name := range req.Names {
		_, err := req.Chain[0].Verify(x509.VerifyOptions{
			Roots: roots, Intermediates: inter, CurrentTime: req.Now,
			DNSName: strings.TrimSuffix(name, "."),
		})
		if err == nil {
			return nil
		}
		last = err
	}
	return last
}

// matches compares one certificate with a record's data.
func matches(r *dns.TLSA, cert *x509.Certificate) bool {
	return strings.EqualFold(Record(cert, r.Selector, r.MatchingType), r.Certificate)
}

// Record makes the TLSA record data (hex) for cert with the given selector
// and matching type, as an operator would publish it.
func Record(cert *x509.Certificate, selector, matching uint8) string {
	data := cert.Raw
	if selector == SelectorSPKI {
		data = cert.RawSubjectPublicKeyInfo
	}
	switch matching {
	case MatchSHA256:
		sum := sha256.Sum256(data)
		data = sum[:]
	case MatchSHA512:
		sum := sha512.Sum512(data)
		data = sum[:]
	}
	return hex.EncodeToString(data)
}
