package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/idna"
)

// Reasons an address is suppressed.
const (
	ReasonHardBounce  = "hard_bounce"
	ReasonUnsubscribe = "unsubscribe"
	ReasonComplaint   = "complaint"
	ReasonManual      = "manual"
)

// Reasons lists the valid suppression reasons.
var Reasons = []string{ReasonHardBounce, ReasonUnsubscribe, ReasonComplaint, ReasonManual}

// ErrBadSuppression is returned for an entry without a domain or address
// or with an unknown reason.
var ErrBadSuppression = errors.New("suppression list: entry needs a domain, an address and a known reason")

// Suppression is one address that marketing mail from Domain (the
// envelope sender's domain) must not go to.
type Suppression struct {
	Domain  string    `json:"domain"`
	Address string    `json:"address"`
	Reason  string    `json:"reason"`
	At      time.Time `json:"at"`
}

// normSuppression lower-cases domain and address: a suppression list errs
// on the side of not mailing.
func normSuppression(domain, address string) (string, string) {
	return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(domain), ".")), strings.ToLower(strings.TrimSpace(address))
}

// Suppress adds an address to the list, or updates the reason and time of
// one already there. At defaults to now.
func (s *Store) Suppress(ctx context.Context, e Suppression) error {
	e.Domain, e.Address = normSuppression(e.Domain, e.Address)
	if e.Domain == "" || !strings.Contains(e.Address, "@") || !slices.Contains(Reasons, e.Reason) {
		return ErrBadSuppression
	}
	if e.At.IsZero() {
		e.At = s.now()
	}
	_, err := s.exec(ctx, `INSERT INTO suppressions (domain, address, reason, at) VALUES (?, ?, ?, ?)
		ON CONFLICT (domain, address) DO UPDATE SET reason = excluded.reason, at = excluded.at`,
		e.Domain, e.Address, e.Reason, e.At.UnixMilli())
	if err != nil {
		return fmt.Errorf("suppression list: %w", err)
	}
	return nil
}

// Unsuppress removes an address; it reports whether it was there.
func (s *Store) Unsuppress(ctx context.Context, domain, address string) (bool, error) {
	domain, address = normSuppression(domain, address)
	res, err := s.exec(ctx, `DELETE FROM suppressions WHERE domain = ? AND address = ?`, domain, address)
	if err != nil {
		return false, fmt.Errorf("suppression list: %w", err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// idnForms returns address (normalised) and, when its domain is
// internationalised, the same address with the domain in its other form
// (A-label "xn--" or U-label): one mailbox, written either way.
func idnForms(address string) (string, string) {
	at := strings.LastIndexByte(address, '@')
	if at < 0 {
		return address, address
	}
	local, domain := address[:at], address[at+1:]
	other := domain
	if a, err := idna.Lookup.ToASCII(domain); err == nil && a != domain {
		other = a
	} else if u, err := idna.Lookup.ToUnicode(domain); err == nil && u != domain {
		other = u
	}
	return address, local + "@" + strings.ToLower(other)
}

// AddressForms is address as the suppression list keys it and the same
// address with its domain in the other IDNA form (address again when the
// domain has no other form): Suppressed matches either, and so must a
// reader that keeps suppressions of its own until the list takes them.
func AddressForms(address string) (string, string) {
	_, a := normSuppression("", address)
	return idnForms(a)
}

// Suppressed reports whether marketing mail from domain must not go to
// address, written with its domain in either IDNA form. An error means the
// list could not be read; callers fail closed.
func (s *Store) Suppressed(ctx context.Context, domain, address string) (bool, error) {
	domain, address = normSuppression(domain, address)
	address, other := idnForms(address)
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM suppressions WHERE domain = ? AND (address = ? OR address = ?)`,
		domain, address, other).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("suppression list: %w", err)
	}
	return n > 0, nil
}

// Suppressions lists the entries of domain ("" for every domain), by
// domain and address.
func (s *Store) Suppressions(ctx context.Context, domain string) ([]Suppression, error) {
	domain, _ = normSuppression(domain, "")
	q := `SELECT domain, address, reason, at FROM suppressions WHERE domain = ? OR ? = '' ORDER BY domain, address`
	out, err := queryAll(ctx, s.db, s.d, func(r Row) (e Suppression, err error) {
		var at int64
		err = r.Scan(&e.Domain, &e.Address, &e.Reason, &at)
		e.At = time.UnixMilli(at).UTC()
		return e, err
	}, q, domain, domain)
	if err != nil {
		return nil, fmt.Errorf("suppression list: %w", err)
	}
	return out, nil
}
