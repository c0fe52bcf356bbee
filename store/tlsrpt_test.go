package store

import (
	"context"
	"testing"
	"time"
)

// TestTLSResults: two writers add to one count rather than overwrite it,
// only the first claim of a day's report holds until it is released, and
// pruning drops older days, on both backends.
func TestTLSResults(t *testing.T) {
	for name, target := range targets {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db := openTestDB(t, target(t)(t))
			add := func(day, domain, detail string, n int) {
				if err := db.AddTLSResults(ctx, day, domain, `{"p":1}`, detail, n); err != nil {
					t.Fatal(err)
				}
			}
			add("2026-12-06", "partner.test", "", 3)
			add("2026-12-06", "partner.test", "", 4)
			add("2026-12-06", "partner.test", `{"f":1}`, 2)
			add("2026-12-06", "other.test", "", 1)
			add("2026-12-05", "old.test", "", 1)
			doms, err := db.TLSResultDomains(ctx, "2026-12-06")
			if err != nil || len(doms) != 2 || doms[0] != "other.test" || doms[1] != "partner.test" {
				t.Fatalf("domains %q (%v), want other.test, partner.test", doms, err)
			}
			got := map[string]int{}
			if err := db.TLSResults(ctx, "2026-12-06", "partner.test", func(policy, detail string, n int) {
				got[policy+detail] += n
			}); err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 || got[`{"p":1}`] != 7 || got[`{"p":1}{"f":1}`] != 2 {
				t.Fatalf("counts %v, want 7 successes and 2 failures", got)
			}
			claim := func(node string, stale time.Duration, wantMine, wantSent bool) {
				t.Helper()
				mine, sent, err := db.ClaimTLSReport(ctx, "2026-12-06", "partner.test", node, stale)
				if err != nil || mine != wantMine || sent != wantSent {
					t.Fatalf("claim by %s = mine %v, sent %v (%v); want %v, %v", node, mine, sent, err, wantMine, wantSent)
				}
			}
			claim("a.test", time.Hour, true, false)
			claim("b.test", time.Hour, false, false)
			claim("a.test", time.Hour, true, false) // a restarted while sending
			if err := db.ReleaseTLSReport(ctx, "2026-12-06", "partner.test", "b.test"); err != nil {
				t.Fatal(err)
			}
			claim("b.test", time.Hour, false, false) // b's release does not free a's claim
			if err := db.ReleaseTLSReport(ctx, "2026-12-06", "partner.test", "a.test"); err != nil {
				t.Fatal(err)
			}
			claim("b.test", time.Hour, true, false)
			claim("a.test", -time.Second, true, false) // b's claim is stale: a takes it over
			if err := db.TLSReportSent(ctx, "2026-12-06", "partner.test", "a.test"); err != nil {
				t.Fatal(err)
			}
			claim("b.test", -time.Second, false, true)
			claim("a.test", time.Hour, false, true)
			if err := db.PruneTLSResults(ctx, "2026-12-06"); err != nil {
				t.Fatal(err)
			}
			if doms, err := db.TLSResultDomains(ctx, "2026-12-05"); err != nil || len(doms) != 0 {
				t.Errorf("pruned day still has %q (%v)", doms, err)
			}
			if doms, _ := db.TLSResultDomains(ctx, "2026-12-06"); len(doms) != 2 {
				t.Errorf("pruning removed the kept day: %q", doms)
			}
		})
	}
}
