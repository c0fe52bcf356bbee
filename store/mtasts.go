package store

import (
	"context"
	"fmt"
	"time"
)

// MTASTSPolicies returns the MTA-STS policies not yet expired, by domain,
// as package mtasts wrote them; expired ones are deleted on the way.
func (db *DB) MTASTSPolicies(ctx context.Context) (map[string][]byte, error) {
	now := time.Now().UnixMilli()
	if _, err := db.Exec(ctx, `DELETE FROM mta_sts_policies WHERE expires <= ?`, now); err != nil {
		return nil, fmt.Errorf("store: mta-sts: %w", err)
	}
	rows, err := db.Query(ctx, `SELECT domain, policy FROM mta_sts_policies`)
	if err != nil {
		return nil, fmt.Errorf("store: mta-sts: %w", err)
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var domain, policy string
		if err := rows.Scan(&domain, &policy); err != nil {
			return nil, fmt.Errorf("store: mta-sts: %w", err)
		}
		out[domain] = []byte(policy)
	}
	return out, rows.Err()
}

// SaveMTASTSPolicy keeps domain's policy until expires, unless the store
// holds one that expires later (fetched later by another node).
func (db *DB) SaveMTASTSPolicy(ctx context.Context, domain string, policy []byte, expires time.Time) error {
	_, err := db.Exec(ctx, `INSERT INTO mta_sts_policies (domain, policy, expires) VALUES (?, ?, ?)
		ON CONFLICT (domain) DO UPDATE SET policy = excluded.policy, expires = excluded.expires
		WHERE mta_sts_policies.expires <= excluded.expires`, domain, string(policy), expires.UnixMilli())
	if err != nil {
		return fmt.Errorf("store: mta-sts: %w", err)
	}
	return nil
}
