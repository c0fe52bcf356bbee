package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sealgate/sealgate/stats"
	"github.com/sealgate/sealgate/verp"
)

// groupCommit lets concurrent writers share a transaction: the first
// caller writes what every caller queued while it was writing, and each
// caller returns when the transaction holding its rows has committed.
// Campaign copies leave from many delivery workers at once, and one
// SQLite commit (an fsync) per copy would cap them at about a thousand a
// second.
type groupCommit struct {
	mu      sync.Mutex
	pending []verp.Recipient
	waiters []chan error
	writing bool
}

// RememberRecipients records what bounce addresses refer to (package
// verp); a reference already there is kept. It returns once the rows are
// committed, in a transaction it may share with concurrent callers.
func (s *Store) RememberRecipients(ctx context.Context, rs []verp.Recipient) error {
	g := &s.remember
	done := make(chan error, 1)
	g.mu.Lock()
	g.pending = append(g.pending, rs...)
	g.waiters = append(g.waiters, done)
	lead := !g.writing
	g.writing = true
	g.mu.Unlock()
	if lead {
		s.writeRemembered(context.WithoutCancel(ctx))
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// writeRemembered writes what is queued in one transaction. What was
// queued meanwhile is written by a goroutine of its own, so the caller
// that led returns as soon as its own rows are in.
func (s *Store) writeRemembered(ctx context.Context) {
	g := &s.remember
	g.mu.Lock()
	batch, waiters := g.pending, g.waiters
	g.pending, g.waiters = nil, nil
	g.mu.Unlock()
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err := s.insertRecipients(wctx, batch)
	cancel()
	for _, w := range waiters {
		w <- err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.waiters) == 0 {
		g.writing = false
		return
	}
	go s.writeRemembered(ctx)
}

// insertRecipients writes rs in one transaction.
func (s *Store) insertRecipients(ctx context.Context, rs []verp.Recipient) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, r := range rs {
			_, err := tx.ExecContext(ctx, s.d.rebind(`INSERT INTO bounce_recipients (ref, queue_id, domain, address, client, at)
				VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (ref) DO NOTHING`),
				r.Ref, r.QueueID, r.Domain, r.Address, r.Client, r.At.UnixMilli())
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// ErrUnknownRecipient is returned for a reference the store does not hold
// (never made, or forgotten after its retention).
var ErrUnknownRecipient = errors.New("bounce address refers to no recipient on record")

// BounceRecipient returns what the bounce address reference ref refers to.
func (s *Store) BounceRecipient(ctx context.Context, ref string) (verp.Recipient, error) {
	r := verp.Recipient{Ref: ref}
	var at int64
	err := s.queryRow(ctx, `SELECT queue_id, domain, address, client, at FROM bounce_recipients WHERE ref = ?`, ref).
		Scan(&r.QueueID, &r.Domain, &r.Address, &r.Client, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrUnknownRecipient
	}
	if err != nil {
		return r, fmt.Errorf("bounce recipients: %w", err)
	}
	r.At = time.UnixMilli(at).UTC()
	return r, nil
}

// ForgetRecipients removes the references made before cutoff; it returns
// how many.
func (s *Store) ForgetRecipients(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := s.exec(ctx, `DELETE FROM bounce_recipients WHERE at < ?`, cutoff.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("bounce recipients: %w", err)
	}
	return res.RowsAffected()
}

// AddStats implements stats.Sink: each count is added to its bucket, all
// in one transaction.
func (s *Store) AddStats(ctx context.Context, cs []stats.Count) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, c := range cs {
			_, err := tx.ExecContext(ctx, s.d.rebind(`INSERT INTO delivery_stats (domain, hour, counter, n) VALUES (?, ?, ?, ?)
				ON CONFLICT (domain, hour, counter) DO UPDATE SET n = delivery_stats.n + excluded.n`),
				c.Domain, c.Hour.Unix(), c.Counter, c.N)
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// Stats returns the counts of the hours from the one holding since on,
// summed per domain and counter (Hour is left zero).
func (s *Store) Stats(ctx context.Context, since time.Time) ([]stats.Count, error) {
	out, err := queryAll(ctx, s.db, s.d, func(r Row) (c stats.Count, err error) {
		err = r.Scan(&c.Domain, &c.Counter, &c.N)
		return c, err
	}, `SELECT domain, counter, CAST(SUM(n) AS BIGINT) FROM delivery_stats
		WHERE hour >= ? GROUP BY domain, counter ORDER BY domain, counter`, since.UTC().Truncate(time.Hour).Unix())
	if err != nil {
		return nil, fmt.Errorf("delivery statistics: %w", err)
	}
	return out, nil
}

// inTx runs f in a transaction, committed when f returns nil.
func (s *Store) inTx(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}
