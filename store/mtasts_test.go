package store

import (
	"context"
	"testing"
	"time"
)

// TestMTASTSPolicies: a policy that expires later replaces the kept one,
// an older one does not, and an expired one is not returned (and is
// deleted), on both backends.
func TestMTASTSPolicies(t *testing.T) {
	for name, target := range targets {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db := openTestDB(t, target(t)(t))
			now := time.Now()
			save := func(domain, policy string, expires time.Time) {
				if err := db.SaveMTASTSPolicy(ctx, domain, []byte(policy), expires); err != nil {
					t.Fatal(err)
				}
			}
			save("partner.test", `{"id":"one"}`, now.Add(time.Hour))
			save("partner.test", `{"id":"two"}`, now.Add(2*time.Hour))
			save("partner.test", `{"id":"stale"}`, now.Add(30*time.Minute))
			save("gone.test", `{"id":"old"}`, now.Add(-time.Minute))
			got, err := db.MTASTSPolicies(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || string(got["partner.test"]) != `{"id":"two"}` {
				t.Fatalf("policies %q, want only partner.test's latest", got)
			}
			var n int
			if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM mta_sts_policies WHERE domain = ?`, "gone.test").Scan(&n); err != nil || n != 0 {
				t.Errorf("the expired policy is still stored (%d, %v)", n, err)
			}
		})
	}
}
