package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Rate limits live in the store, so every node sharing one PostgreSQL
// counts the same client against the same budget (portal requests, failed
// SMTP logins). A limit key
// names what is counted and for whom (for example "req:ip:192.0.2.7"); it
// holds a client address or network, never a mail address or content.

// Window is one key's count in its current fixed window.
type Window struct {
	Key   string
	Count int
	Reset time.Time // when the window ends and the count starts again
}

// Hit counts one event for each key, in fixed windows of the given
// length, and returns every key's count including this event. All keys
// are counted in one statement, atomically, so parallel requests on
// several nodes cannot exceed a limit together.
func (s *Store) Hit(ctx context.Context, window time.Duration, keys ...string) ([]Window, error) {
	return s.DB().hit(ctx, s.now(), window, keys...)
}

// Hit is Store.Hit on the shared store's database (the clock: time.Now),
// for counters outside the portal such as failed SMTP logins.
func (db *DB) Hit(ctx context.Context, window time.Duration, keys ...string) ([]Window, error) {
	return db.hit(ctx, time.Now(), window, keys...)
}

func (db *DB) hit(ctx context.Context, at time.Time, window time.Duration, keys ...string) ([]Window, error) {
	keys = distinct(keys) // one statement may not touch a row twice
	if len(keys) == 0 {
		return nil, nil
	}
	now := at.UnixMilli()
	reset := now + max(window.Milliseconds(), 1)
	var q strings.Builder
	q.WriteString(`INSERT INTO portal_limits (limit_key, reset_at, count) VALUES `)
	args := make([]any, 0, 2*len(keys)+2)
	for i, k := range keys {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, 1)")
		args = append(args, k, reset)
	}
	q.WriteString(` ON CONFLICT (limit_key) DO UPDATE SET
		count = CASE WHEN portal_limits.reset_at <= ? THEN 1 ELSE portal_limits.count + 1 END,
		reset_at = CASE WHEN portal_limits.reset_at <= ? THEN excluded.reset_at ELSE portal_limits.reset_at END
		RETURNING limit_key, count, reset_at`)
	args = append(args, now, now)
	out, err := QueryAll(ctx, db, func(r Row) (w Window, err error) {
		var n, at int64
		err = r.Scan(&w.Key, &n, &at)
		w.Count, w.Reset = int(n), time.UnixMilli(at)
		return w, err
	}, q.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("portal store: limits: %w", err)
	}
	if len(out) != len(keys) {
		return nil, fmt.Errorf("portal store: limits: %d of %d keys counted", len(out), len(keys))
	}
	return out, nil
}

// Peek returns each key's count in its current window without counting;
// a key with no live window has count 0.
func (s *Store) Peek(ctx context.Context, keys ...string) ([]Window, error) {
	return s.DB().peek(ctx, s.now(), keys...)
}

// Peek is Store.Peek on the shared store's database (the clock: time.Now).
func (db *DB) Peek(ctx context.Context, keys ...string) ([]Window, error) {
	return db.peek(ctx, time.Now(), keys...)
}

func (db *DB) peek(ctx context.Context, at time.Time, keys ...string) ([]Window, error) {
	now := at.UnixMilli()
	out := make([]Window, 0, len(keys))
	for _, k := range keys {
		w := Window{Key: k}
		var n, at int64
		err := db.QueryRow(ctx, `SELECT count, reset_at FROM portal_limits WHERE limit_key = ? AND reset_at > ?`, k, now).Scan(&n, &at)
		switch {
		case err == nil:
			w.Count, w.Reset = int(n), time.UnixMilli(at)
		case !isNoRows(err):
			return nil, fmt.Errorf("portal store: limits: %w", err)
		}
		out = append(out, w)
	}
	return out, nil
}

// SweepLimits deletes ended windows and returns how many are left.
func (s *Store) SweepLimits(ctx context.Context) (int, error) {
	return s.DB().sweepLimits(ctx, s.now())
}

// SweepLimits is Store.SweepLimits on the shared store's database.
func (db *DB) SweepLimits(ctx context.Context) (int, error) { return db.sweepLimits(ctx, time.Now()) }

func (db *DB) sweepLimits(ctx context.Context, at time.Time) (int, error) {
	if _, err := db.Exec(ctx, `DELETE FROM portal_limits WHERE reset_at <= ?`, at.UnixMilli()); err != nil {
		return 0, fmt.Errorf("portal store: limits: %w", err)
	}
	var n int
	if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM portal_limits`).Scan(&n); err != nil {
		return 0, fmt.Errorf("portal store: limits: %w", err)
	}
	return n, nil
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

func distinct(keys []string) []string {
	out := keys[:0:0]
	for _, k := range keys {
		dup := false
		for _, o := range out {
			dup = dup || o == k
		}
		if !dup {
			out = append(out, k)
		}
	}
	return out
}
