package mtasts_test

import (
	"context"
	"testing"

	"github.com/sealgate/sealgate/dnsclient"
	"github.com/sealgate/sealgate/internal/pgtest"
	"github.com/sealgate/sealgate/mtasts"
	"github.com/sealgate/sealgate/store"
)

// TestSharedPoliciesReachANewNode: node A fetches partner.test's enforce
// policy with a real PostgreSQL as the shared store; node B, started
// afterwards on an empty cache folder, has the policy before any
// delivery and without fetching it.
func TestSharedPoliciesReachANewNode(t *testing.T) {
	t.Parallel()
	e := setup(t, nil, enforce, "one")
	ctx := context.Background()
	db, err := store.OpenDB(ctx, store.Options{Backend: pgtest.URL(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	res, err := dnsclient.New(dnsclient.Config{Servers: []string{e.dns.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	open := func() *mtasts.Cache {
		c, err := mtasts.NewCache(mtasts.Config{Dir: t.TempDir(), Resolver: res, RootCAs: e.ca.Pool(),
			RecheckInterval: -1, Port: e.host.Port(), Shared: db})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	a := open()
	if p, err := a.Get(ctx, "partner.test"); err != nil || p == nil || p.Mode != mtasts.ModeEnforce {
		t.Fatalf("node A: %+v, %v", p, err)
	}
	b := open()
	p := b.Cached("partner.test")
	if p == nil || p.Mode != mtasts.ModeEnforce || !p.Match("mx.partner.test") || p.ID != "one" {
		t.Fatalf("node B starts with %+v, want node A's enforce policy", p)
	}
	if e.host.Hits() != 1 {
		t.Errorf("the policy was fetched %d times, want once (by node A)", e.host.Hits())
	}
}
