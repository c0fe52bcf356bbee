package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sealgate/sealgate/stats"
	"github.com/sealgate/sealgate/verp"
)

// RememberRecipients records what bounce addresses refer to (package
// verp), in one transaction; a reference already there is kept.
func (s *Store) RememberRecipients(ctx context.Context, rs []verp.Recipient) error {
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
	rows, err := s.db.QueryContext(ctx, s.d.rebind(`SELECT domain, counter, CAST(SUM(n) AS BIGINT) FROM delivery_stats
		WHERE hour >= ? GROUP BY domain, counter ORDER BY domain, counter`), since.UTC().Truncate(time.Hour).Unix())
	if err != nil {
		return nil, fmt.Errorf("delivery statistics: %w", err)
	}
	defer rows.Close()
	var out []stats.Count
	for rows.Next() {
		var c stats.Count
		if err := rows.Scan(&c.Domain, &c.Counter, &c.N); err != nil {
			return nil, fmt.Errorf("delivery statistics: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
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
