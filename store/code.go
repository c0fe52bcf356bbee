package store

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// CodePolicy bounds one-time codes.
type CodePolicy struct {
	TTL         time.Duration // how long a code is valid
	MaxAttempts int           // wrong entries before lockout
	Lockout     time.Duration // how long a lockout lasts
}

// SetCode stores the keyed hash of a fresh one-time code for a live
// message, replacing any earlier code. It returns ErrLocked during a
// lockout and ErrGone for a dead message.
func (s *Store) SetCode(ctx context.Context, id string, hash []byte, p CodePolicy) error {
	now := s.now()
	// Attempts carry over to the new code: asking for code after code does
	// not buy more guesses. They start again only after a lockout ends (or
	// a right code).
	res, err := s.exec(ctx, `UPDATE portal_messages SET code_hash = ?, code_expires = ?,
		code_attempts = CASE WHEN code_attempts >= ? THEN 0 ELSE code_attempts END
		WHERE id = ? AND locked_until <= ? AND revoked = 0 AND deleted = 0 AND expires > ?`,
		hash, now.Add(p.TTL).UnixMilli(), p.MaxAttempts, id, now.UnixMilli(), now.UnixMilli())
	if err != nil {
		return fmt.Errorf("portal store: set code: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	m, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	if !m.Live(now) {
		return ErrGone
	}
	return ErrLocked
}

// CheckCode spends one attempt on a code. A match clears the code (it
// works once) and returns nil; a miss returns ErrCodeWrong, or ErrLocked
// when the attempts are used up (then the message is locked for
// p.Lockout). Attempts are counted atomically, so parallel guesses cannot
// exceed the limit.
func (s *Store) CheckCode(ctx context.Context, id string, hash []byte, p CodePolicy) error {
	now := s.now().UnixMilli()
	var stored []byte
	var expires int64
	var attempts int
	err := s.queryRow(ctx, `UPDATE portal_messages SET code_attempts = code_attempts + 1
		WHERE id = ? AND code_attempts < ? AND locked_until <= ? AND code_hash IS NOT NULL
		RETURNING code_hash, code_expires, code_attempts`, id, p.MaxAttempts, now).Scan(&stored, &expires, &attempts)
	if errors.Is(err, sql.ErrNoRows) {
		return s.noAttempt(ctx, id, p, now)
	}
	if err != nil {
		return fmt.Errorf("portal store: check code: %w", err)
	}
	if expires > now && subtle.ConstantTimeCompare(stored, hash) == 1 {
		_, err := s.exec(ctx, `UPDATE portal_messages SET code_hash = NULL, code_attempts = 0 WHERE id = ?`, id)
		return err
	}
	if attempts >= p.MaxAttempts {
		_, err := s.exec(ctx, `UPDATE portal_messages SET code_hash = NULL, locked_until = ? WHERE id = ?`,
			now+p.Lockout.Milliseconds(), id)
		if err != nil {
			return fmt.Errorf("portal store: lock: %w", err)
		}
		return ErrLocked
	}
	return ErrCodeWrong
}

// ErrCodeWrong is a wrong or expired code with attempts left.
var ErrCodeWrong = errors.New("portal store: wrong code")

// noAttempt explains why CheckCode could not spend an attempt: a lockout
// (or used-up attempts), or simply no code to compare with.
func (s *Store) noAttempt(ctx context.Context, id string, p CodePolicy, now int64) error {
	var attempts int
	var locked int64
	err := s.queryRow(ctx, `SELECT code_attempts, locked_until FROM portal_messages WHERE id = ?`, id).Scan(&attempts, &locked)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("portal store: check code: %w", err)
	}
	if locked > now || attempts >= p.MaxAttempts {
		return ErrLocked
	}
	return ErrCodeWrong
}
