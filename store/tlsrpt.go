package store

import (
	"context"
	"fmt"
	"time"
)

// AddTLSResults adds n sessions to a policy domain's count for day; nodes
// add, none overwrites another's.
func (db *DB) AddTLSResults(ctx context.Context, day, domain, policy, detail string, n int) error {
	_, err := db.Exec(ctx, `INSERT INTO tlsrpt_results (day, domain, policy, detail, sessions) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (day, domain, policy, detail) DO UPDATE SET sessions = tlsrpt_results.sessions + excluded.sessions`,
		day, domain, policy, detail, n)
	if err != nil {
		return fmt.Errorf("store: tls results: %w", err)
	}
	return nil
}

// TLSResultDomains lists the policy domains with results on day, sorted.
func (db *DB) TLSResultDomains(ctx context.Context, day string) ([]string, error) {
	out, err := QueryAll(ctx, db, scanString, `SELECT DISTINCT domain FROM tlsrpt_results WHERE day = ? ORDER BY domain`, day)
	if err != nil {
		return nil, fmt.Errorf("store: tls results: %w", err)
	}
	return out, nil
}

// TLSResults calls each with every count of domain on day.
func (db *DB) TLSResults(ctx context.Context, day, domain string, each func(policy, detail string, n int)) error {
	type count struct {
		policy, detail string
		n              int
	}
	counts, err := QueryAll(ctx, db, func(r Row) (c count, err error) {
		err = r.Scan(&c.policy, &c.detail, &c.n)
		return c, err
	}, `SELECT policy, detail, sessions FROM tlsrpt_results WHERE day = ? AND domain = ?`, day, domain)
	if err != nil {
		return fmt.Errorf("store: tls results: %w", err)
	}
	for _, c := range counts {
		each(c.policy, c.detail, c.n)
	}
	return nil
}

// ClaimTLSReport makes node the one sender of domain's report for day. It
// reports mine when the claim is node's now; otherwise sent tells whether
// the holder has sent the report. A node may claim again what it claimed
// and did not send (it restarted while sending), and any node a claim
// older than stale whose report is not sent (its node is gone).
func (db *DB) ClaimTLSReport(ctx context.Context, day, domain, node string, stale time.Duration) (mine, sent bool, err error) {
	now := time.Now()
	res, err := db.Exec(ctx, `INSERT INTO tlsrpt_claims (day, domain, node, claimed) VALUES (?, ?, ?, ?)
		ON CONFLICT (day, domain) DO UPDATE SET node = excluded.node, claimed = excluded.claimed
		WHERE tlsrpt_claims.sent = 0 AND (tlsrpt_claims.node = excluded.node OR tlsrpt_claims.claimed < ?)`,
		day, domain, node, now.UnixMilli(), now.Add(-stale).UnixMilli())
	if err != nil {
		return false, false, fmt.Errorf("store: tls report claim: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return n == 1, false, err
	}
	var at int64
	if err := db.QueryRow(ctx, `SELECT sent FROM tlsrpt_claims WHERE day = ? AND domain = ?`, day, domain).Scan(&at); err != nil {
		return false, false, fmt.Errorf("store: tls report claim: %w", err)
	}
	return false, at != 0, nil
}

// TLSReportSent marks node's claimed report as sent, for good.
func (db *DB) TLSReportSent(ctx context.Context, day, domain, node string) error {
	if _, err := db.Exec(ctx, `UPDATE tlsrpt_claims SET sent = ? WHERE day = ? AND domain = ? AND node = ?`,
		time.Now().UnixMilli(), day, domain, node); err != nil {
		return fmt.Errorf("store: tls report claim: %w", err)
	}
	return nil
}

// ReleaseTLSReport gives up node's claim, after its report failed, so a
// later run (of any node) sends it.
func (db *DB) ReleaseTLSReport(ctx context.Context, day, domain, node string) error {
	if _, err := db.Exec(ctx, `DELETE FROM tlsrpt_claims WHERE day = ? AND domain = ? AND node = ?`, day, domain, node); err != nil {
		return fmt.Errorf("store: tls report claim: %w", err)
	}
	return nil
}

// PruneTLSResults deletes the results and claims of days before day.
func (db *DB) PruneTLSResults(ctx context.Context, day string) error {
	for _, q := range []string{`DELETE FROM tlsrpt_results WHERE day < ?`, `DELETE FROM tlsrpt_claims WHERE day < ?`} {
		if _, err := db.Exec(ctx, q, day); err != nil {
			return fmt.Errorf("store: tls results: %w", err)
		}
	}
	return nil
}
