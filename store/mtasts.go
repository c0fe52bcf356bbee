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
	type row struct{ domain, policy string }
	rows, err := QueryAll(ctx, db, func(r Row) (p row, err error) {
		err = r.Scan(&p.domain, &p.policy)
		return p, err
	}, `SELECT domain, policy FROM mta_sts_policies`)
	if err != nil {
		return nil, fmt.Errorf("store: mta-sts: %w", err)
	}
	out := make(map[string][]byte, len(rows))
	for _, p := range rows {
		out[p.domain] = []byte(p.policy)
	}
	return out, nil
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
