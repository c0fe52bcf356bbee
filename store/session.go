package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Portal browser sessions can live in the store, so that several portal
// nodes behind one load balancer share them. A session is found by the
// SHA-256 of its cookie value and kept wrapped by the master key (it
// holds a CSRF token and, during enrolment, a TOTP secret).

func sessionKey(id string) ([]byte, string) {
	h := sha256.Sum256([]byte(id))
	return h[:], "session:" + hex.EncodeToString(h[:])
}

// PutSession stores (or replaces) a session's data.
func (s *Store) PutSession(ctx context.Context, id string, data []byte, lastSeen time.Time) error {
	key, label := sessionKey(id)
	_, err := s.exec(ctx, `INSERT INTO portal_sessions (id_hash, data, last_seen) VALUES (?, ?, ?)
		ON CONFLICT (id_hash) DO UPDATE SET data = excluded.data, last_seen = excluded.last_seen`,
		key, s.opts.Master.WrapSecret(label, data), lastSeen.UnixMilli())
	if err != nil {
		return fmt.Errorf("portal store: session: %w", err)
	}
	return nil
}

// GetSession returns a session's data and when it was last used, or
// ErrNotFound.
func (s *Store) GetSession(ctx context.Context, id string) ([]byte, time.Time, error) {
	key, label := sessionKey(id)
	var wrapped []byte
	var seen int64
	err := s.queryRow(ctx, `SELECT data, last_seen FROM portal_sessions WHERE id_hash = ?`, key).Scan(&wrapped, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, time.Time{}, ErrNotFound
	}
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("portal store: session: %w", err)
	}
	data, err := s.opts.Master.UnwrapSecret(label, wrapped)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("portal store: session: %w", err)
	}
	return data, time.UnixMilli(seen), nil
}

// DeleteSession forgets a session.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	key, _ := sessionKey(id)
	if _, err := s.exec(ctx, `DELETE FROM portal_sessions WHERE id_hash = ?`, key); err != nil {
		return fmt.Errorf("portal store: session: %w", err)
	}
	return nil
}

// SweepSessions deletes sessions last used before t and returns how many
// are left.
func (s *Store) SweepSessions(ctx context.Context, t time.Time) (int, error) {
	if _, err := s.exec(ctx, `DELETE FROM portal_sessions WHERE last_seen < ?`, t.UnixMilli()); err != nil {
		return 0, fmt.Errorf("portal store: sessions: %w", err)
	}
	var n int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM portal_sessions`).Scan(&n); err != nil {
		return 0, fmt.Errorf("portal store: sessions: %w", err)
	}
	return n, nil
}
