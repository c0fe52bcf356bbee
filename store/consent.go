package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Channels through which a patient can give (or withdraw) consent to
// unencrypted mail.
var Channels = []string{"portal", "paper", "phone", "in-person", "email", "other"}

// Errors of the consent register; test with errors.Is.
var (
	// ErrBadConsent is returned for a consent without an address, a
	// warning, a known channel or the operator who records it.
	ErrBadConsent = errors.New("consent: needs an address, the warning shown, a known channel and who recorded it")
	// ErrConsentExists is returned when the address already has a consent
	// in force: revoke it first.
	ErrConsentExists = errors.New("consent: the address already has a consent in force")
	// ErrNoConsent is returned when there is no consent in force to revoke.
	ErrNoConsent = errors.New("consent: the address has no consent in force")
)

// maxWarning bounds the stored warning text (a letter, not a book).
const maxWarning = 64 << 10

// Consent is a patient's recorded consent to receive PHI by unencrypted
// e-mail after being warned of the risk. Revoked consents stay in the
// register (with the time and who revoked) as the record of what applied
// when.
type Consent struct {
	ID      string `json:"id"`
	Address string `json:"address"`
	// Warning is the warning text shown to the patient, or a reference to
	// a versioned text ("warning-v3").
	Warning string `json:"warning"`
	// Channel is how the consent was given: one of Channels.
	Channel string `json:"channel"`
	// At is when the patient consented; RecordedBy the operator who
	// recorded it ("uid=0(root)").
	At         time.Time `json:"at"`
	RecordedBy string    `json:"recorded_by"`
	// Revoked is when it was withdrawn (zero: in force), RevokedBy who
	// recorded that.
	Revoked   time.Time `json:"revoked,omitzero"`
	RevokedBy string    `json:"revoked_by,omitempty"`
}

// NormConsentAddress is the form addresses are kept and looked up in:
// trimmed, the domain lower-cased and the local part's ASCII letters
// lower-cased, so that a consent is not missed by the case of an ASCII
// address. Other letters of the local part are kept as they are: Unicode
// case rules fold some of them into ASCII (KELVIN SIGN into "k"), and a
// consent must never reach a different mailbox that only looks alike.
func NormConsentAddress(a string) string {
	a = strings.TrimSpace(a)
	at := strings.LastIndexByte(a, '@')
	if at < 0 {
		return asciiLower(a)
	}
	return asciiLower(a[:at]) + "@" + strings.ToLower(a[at+1:])
}

// asciiLower lower-cases the ASCII letters of s and leaves every other
// byte alone.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func newConsentID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return "cn-" + hex.EncodeToString(b)
}

// NewConsent checks c and completes it as AddConsent would store it:
// address normalised, an ID made, At now when zero (to the millisecond the
// register keeps). It lets a caller audit a consent before recording it.
func (s *Store) NewConsent(c Consent) (Consent, error) {
	c.Address = NormConsentAddress(c.Address)
	c.Warning = strings.TrimSpace(c.Warning)
	if !strings.Contains(c.Address, "@") || c.Warning == "" || len(c.Warning) > maxWarning ||
		!slices.Contains(Channels, c.Channel) || c.RecordedBy == "" {
		return Consent{}, ErrBadConsent
	}
	if c.At.IsZero() {
		c.At = s.now()
	}
	if c.ID == "" {
		c.ID = newConsentID()
	}
	c.At, c.Revoked, c.RevokedBy = time.UnixMilli(c.At.UnixMilli()).UTC(), time.Time{}, ""
	return c, nil
}

// AddConsent records c (completed by NewConsent) and returns it as stored.
// An address has at most one consent in force.
func (s *Store) AddConsent(ctx context.Context, c Consent) (Consent, error) {
	c, err := s.NewConsent(c)
	if err != nil {
		return Consent{}, err
	}
	if _, ok, err := s.ActiveConsent(ctx, c.Address); err != nil {
		return Consent{}, err
	} else if ok {
		return Consent{}, ErrConsentExists
	}
	_, err = s.exec(ctx, `INSERT INTO consents (id, address, warning, channel, at, recorded_by) VALUES (?, ?, ?, ?, ?, ?)`,
		c.ID, c.Address, c.Warning, c.Channel, c.At.UnixMilli(), c.RecordedBy)
	if err != nil {
		// The unique index on addresses in force catches a concurrent add.
		if _, ok, e2 := s.ActiveConsent(ctx, c.Address); e2 == nil && ok {
			return Consent{}, ErrConsentExists
		}
		return Consent{}, fmt.Errorf("consent: %w", err)
	}
	return c, nil
}

// RevokeConsent withdraws the consent in force for address at once and
// returns it as revoked.
func (s *Store) RevokeConsent(ctx context.Context, address, by string) (Consent, error) {
	address = NormConsentAddress(address)
	c, ok, err := s.ActiveConsent(ctx, address)
	if err != nil {
		return Consent{}, err
	}
	if !ok {
		return Consent{}, ErrNoConsent
	}
	now := s.now()
	res, err := s.exec(ctx, `UPDATE consents SET revoked = ?, revoked_by = ? WHERE id = ? AND revoked = 0`,
		now.UnixMilli(), by, c.ID)
	if err != nil {
		return Consent{}, fmt.Errorf("consent: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return Consent{}, ErrNoConsent
	}
	c.Revoked, c.RevokedBy = time.UnixMilli(now.UnixMilli()).UTC(), by
	return c, nil
}

const consentCols = `id, address, warning, channel, at, recorded_by, revoked, revoked_by`

func scanConsent(row interface{ Scan(...any) error }) (Consent, error) {
	var c Consent
	var at, revoked int64
	if err := row.Scan(&c.ID, &c.Address, &c.Warning, &c.Channel, &at, &c.RecordedBy, &revoked, &c.RevokedBy); err != nil {
		return Consent{}, err
	}
	c.At = time.UnixMilli(at).UTC()
	if revoked != 0 {
		c.Revoked = time.UnixMilli(revoked).UTC()
	}
	return c, nil
}

// ActiveConsent returns the consent in force for address, written with
// its domain in either IDNA form (pat@bücher.test and
// pat@xn--bcher-kva.test are one mailbox), if any. AddConsent and
// RevokeConsent look up through it, so a second consent cannot be added
// in the other form and a revocation in either form withdraws it. An
// error means the register could not be read: callers protect the mail as
// if there were no consent.
func (s *Store) ActiveConsent(ctx context.Context, address string) (Consent, bool, error) {
	address, other := idnForms(NormConsentAddress(address))
	c, err := scanConsent(s.queryRow(ctx, `SELECT `+consentCols+` FROM consents WHERE (address = ? OR address = ?) AND revoked = 0 ORDER BY at, id`,
		address, other))
	if errors.Is(err, sql.ErrNoRows) {
		return Consent{}, false, nil
	}
	if err != nil {
		return Consent{}, false, fmt.Errorf("consent: %w", err)
	}
	return c, true, nil
}

// Consents lists the register, oldest first: of one address when address
// is not "" (its domain in either IDNA form), and only those in force
// unless all is set.
func (s *Store) Consents(ctx context.Context, address string, all bool) ([]Consent, error) {
	address, other := idnForms(NormConsentAddress(address))
	q := `SELECT ` + consentCols + ` FROM consents WHERE (address = ? OR address = ? OR ? = '') AND (revoked = 0 OR ? = 1) ORDER BY at, id`
	allFlag := 0
	if all {
		allFlag = 1
	}
	out, err := queryAll(ctx, s.db, s.d, scanConsent, q, address, other, address, allFlag)
	if err != nil {
		return nil, fmt.Errorf("consent: %w", err)
	}
	return out, nil
}
