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
	rows, err := db.Query(ctx, `SELECT DISTINCT domain FROM tlsrpt_results WHERE day = ? ORDER BY domain`, day)
	if err != nil {
		return nil, fmt.Errorf("store: tls results: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			return nil, fmt.Errorf("store: tls results: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// TLSResults calls each with every count of domain on day.
func (db *DB) TLSResults(ctx context.Context, day, domain string, each func(policy, detail string, n int)) error {
	rows, err := db.Query(ctx, `SELECT policy, detail, sessions FROM tlsrpt_results WHERE day = ? AND domain = ?`, day, domain)
	if err != nil {
		return fmt.Errorf("store: tls results: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var policy, detail string
		var n int
		if err := rows.Scan(&policy, &detail, &n); err != nil {
			return fmt.Errorf("store: tls results: %w", err)
		}
		each(policy, detail, n)
	}
	return rows.Err()
}

// ClaimTLSReport makes node the one sender of domain's report for day; it
// reports false when another node (or this one, earlier) holds the claim.
func (db *DB) ClaimTLSReport(ctx context.Context, day, domain, node string) (bool, error) {
	res, err := db.Exec(ctx, `INSERT INTO tlsrpt_claims (day, domain, node, claimed) VALUES (?, ?, ?, ?)
		ON CONFLICT (day, domain) DO NOTHING`, day, domain, node, time.Now().UnixMilli())
	if err != nil {
		return false, fmt.Errorf("store: tls report claim: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: tls report claim: %w", err)
	}
	return n == 1, nil
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
