package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// ErrExists is returned when a credential that can only be set once
// (on the first visit) is already set.
var ErrExists = errors.New("portal store: already set")

// ErrReplay is a TOTP step that was already used.
var ErrReplay = errors.New("portal store: one-time password already used")

// Credentials are what a recipient set up for the portal, shared by all
// messages to the address: a password hash and a TOTP secret (unwrapped).
type Credentials struct {
	PasswordHash string
	TOTPSecret   []byte // nil when not enrolled
}

func normAddr(a string) string { return strings.ToLower(strings.TrimSpace(a)) }

// Credentials returns the recipient's credentials; zero when none.
func (s *Store) Credentials(ctx context.Context, address string) (Credentials, error) {
	a := normAddr(address)
	var c Credentials
	var wrapped []byte
	err := s.queryRow(ctx, `SELECT password_hash, totp_secret FROM portal_recipients WHERE address = ?`, a).
		Scan(&c.PasswordHash, &wrapped)
	if errors.Is(err, sql.ErrNoRows) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("portal store: credentials: %w", err)
	}
	if wrapped != nil {
		if c.TOTPSecret, err = s.opts.Master.UnwrapSecret("totp:"+a, wrapped); err != nil {
			return c, fmt.Errorf("portal store: totp secret: %w", err)
		}
	}
	return c, nil
}

// ensureRecipient creates the recipient's row if it is missing.
func (s *Store) ensureRecipient(ctx context.Context, a string) error {
	_, err := s.exec(ctx, `INSERT INTO portal_recipients (address, created) VALUES (?, ?) ON CONFLICT (address) DO NOTHING`,
		a, s.now().UnixMilli())
	if err != nil {
		return fmt.Errorf("portal store: recipient: %w", err)
	}
	return nil
}

// SetPassword stores the recipient's password hash; it can be set only
// once (ErrExists afterwards), so a second visitor cannot replace it.
func (s *Store) SetPassword(ctx context.Context, address, hash string) error {
	a := normAddr(address)
	if err := s.ensureRecipient(ctx, a); err != nil {
		return err
	}
	return s.setOnce(ctx, ErrExists, `UPDATE portal_recipients SET password_hash = ? WHERE address = ? AND password_hash = ''`, hash, a)
}

// SetTOTP enrolls the recipient's TOTP secret (wrapped by the master
// key) and records the step just used; it can be set only once.
func (s *Store) SetTOTP(ctx context.Context, address string, secret []byte, step int64) error {
	a := normAddr(address)
	if err := s.ensureRecipient(ctx, a); err != nil {
		return err
	}
	wrapped := s.opts.Master.WrapSecret("totp:"+a, secret)
	return s.setOnce(ctx, ErrExists, `UPDATE portal_recipients SET totp_secret = ?, totp_last_step = ? WHERE address = ? AND totp_secret IS NULL`,
		wrapped, step, a)
}

// setOnce runs a conditional update and returns none when it changed
// no row.
func (s *Store) setOnce(ctx context.Context, none error, q string, args ...any) error {
	res, err := s.exec(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("portal store: credentials: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return none
	}
	return nil
}

// UseTOTPStep records a TOTP step as used; a step not newer than the
// last one used returns ErrReplay (RFC 6238 §5.2).
func (s *Store) UseTOTPStep(ctx context.Context, address string, step int64) error {
	return s.setOnce(ctx, ErrReplay, `UPDATE portal_recipients SET totp_last_step = ? WHERE address = ? AND totp_last_step < ?`,
		step, normAddr(address), step)
}
