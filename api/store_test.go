package api

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sealgate/sealgate/internal/pgtest"
	"github.com/sealgate/sealgate/store"
)

// backends open an API store on a fresh SQLite folder or PostgreSQL
// database of the shared store.
var backends = map[string]func(t *testing.T) *Store{
	"sqlite": func(t *testing.T) *Store {
		return openOn(t, store.Options{Backend: "sqlite", Dir: t.TempDir()})
	},
	"postgres": func(t *testing.T) *Store { return openOn(t, store.Options{Backend: pgtest.URL(t)}) },
}

func openOn(t *testing.T, o store.Options) *Store {
	db, err := store.OpenDB(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return NewStore(db)
}

// TestStore runs the API store's tests on both backends.
func TestStore(t *testing.T) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			t.Run("KeysAreStoredAsHashes", func(t *testing.T) { testKeysAreStoredAsHashes(t, open(t)) })
			t.Run("IdempotencyAndStatus", func(t *testing.T) { testIdempotencyAndStatus(t, open(t)) })
			t.Run("RacingReserve", func(t *testing.T) { testRacingReserve(t, open(t)) })
		})
	}
}

func testKeysAreStoredAsHashes(t *testing.T, st *Store) {
	ctx := context.Background()
	id, key, err := st.NewKey(ctx, "ehr")
	if err != nil || !strings.HasPrefix(key, "sgk_"+id+"_") || len(key) < 40 {
		t.Fatalf("new key %q %q %v", id, key, err)
	}
	if c, gotID, err := st.Client(ctx, key); err != nil || c != "ehr" || gotID != id {
		t.Fatalf("lookup: %q %q %v", c, gotID, err)
	}
	var n int
	secret := key[strings.LastIndexByte(key, '_')+1:]
	if err := st.db.QueryRow(ctx, `SELECT count(*) FROM api_keys WHERE id || client || hash LIKE ?`, "%"+secret+"%").Scan(&n); err != nil || n != 0 {
		t.Error("the key itself is in the store")
	}
	for _, bad := range []string{key + "x", "sgk_" + id + "_", "", strings.TrimPrefix(key, "sgk_")} {
		if _, _, err := st.Client(ctx, bad); !errors.Is(err, ErrUnknownKey) {
			t.Errorf("key %q: %v", bad, err)
		}
	}
	if err := st.Revoke(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Client(ctx, key); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("revoked key: %v", err)
	}
	if err := st.Revoke(ctx, "nope"); err == nil {
		t.Error("revoking an unknown key succeeded")
	}
}

// TestIdempotencyAndStatus: a reserved key returns what it reserved, a
// refused request's reservation is forgotten, states move to a final one
// and stay there, and Purge drops what is older than its age.
func testIdempotencyAndStatus(t *testing.T, st *Store) {
	ctx := context.Background()
	got, found, err := st.reserve(ctx, "ehr", "k1", "h1", "Q1")
	if err != nil || found || got.QueueID != "Q1" {
		t.Fatalf("first reserve: %+v %v %v", got, found, err)
	}
	got, found, _ = st.reserve(ctx, "ehr", "k1", "h2", "Q2")
	if !found || got.QueueID != "Q1" || got.BodyHash != "h1" || got.Done {
		t.Fatalf("second reserve: %+v %v", got, found)
	}
	if _, found, _ = st.reserve(ctx, "other", "k1", "h1", "Q3"); found {
		t.Error("a key is shared between clients")
	}
	st.forget(ctx, "ehr", "k1")
	if _, found, _ = st.reserve(ctx, "ehr", "k1", "h1", "Q4"); found {
		t.Error("a forgotten key is still reserved")
	}
	if err := st.accepted(ctx, "ehr", "k1", "Q4", []string{"a@example.net", "b@example.net"}); err != nil {
		t.Fatal(err)
	}
	if got, _, _ = st.reserve(ctx, "ehr", "k1", "h1", "Q5"); !got.Done || got.QueueID != "Q4" {
		t.Errorf("after accepted: %+v", got)
	}
	now := time.Now()
	st.update(ctx, []update{{queueID: "Q4", rcpt: "a@example.net", status: "delivered", attempts: 1, code: 250, at: now},
		{queueID: "Q4", rcpt: "b@example.net", status: "deferred", attempts: 1, code: 451, enhanced: "4.2.0", at: now}})
	st.update(ctx, []update{{queueID: "Q4", rcpt: "a@example.net", status: "deferred", attempts: 2, at: now}})
	rs, _, err := st.status(ctx, "ehr", "Q4")
	if err != nil || len(rs) != 2 || rs[0].Status != "delivered" || rs[0].Code != 250 || rs[1].Status != "deferred" || rs[1].EnhancedCode != "4.2.0" {
		t.Fatalf("status: %+v %v", rs, err)
	}
	if rs, _, _ := st.status(ctx, "other", "Q4"); len(rs) != 0 {
		t.Error("another client sees the message")
	}
	if err := st.Purge(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	if rs, _, _ := st.status(ctx, "ehr", "Q4"); len(rs) != 2 {
		t.Error("purge dropped fresh states")
	}
	st.db.Exec(ctx, `UPDATE api_recipients SET updated = updated - 7200`)
	st.db.Exec(ctx, `UPDATE api_idempotency SET created = created - 7200`)
	st.Purge(ctx, time.Hour)
	if rs, _, _ := st.status(ctx, "ehr", "Q4"); len(rs) != 0 {
		t.Error("purge kept old states")
	}
	if _, found, _ := st.reserve(ctx, "ehr", "k1", "h1", "Q6"); found {
		t.Error("purge kept an old idempotency key")
	}
}

// testRacingReserve: requests with one Idempotency-Key reach several
// nodes at once; exactly one reserves it and every other gets its queue ID.
func testRacingReserve(t *testing.T, st *Store) {
	const n = 8
	var wg sync.WaitGroup
	start := make(chan struct{})
	got := make([]idem, n)
	found := make([]bool, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			got[i], found[i], errs[i] = st.reserve(context.Background(), "ehr", "race", "h", fmt.Sprintf("Q%d", i))
		})
	}
	close(start)
	wg.Wait()
	winners := 0
	var winner string
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("reserve %d: %v", i, errs[i])
		}
		if !found[i] {
			winners++
			winner = got[i].QueueID
		}
	}
	if winners != 1 {
		t.Fatalf("%d requests reserved the key, want 1", winners)
	}
	for i := range n {
		if got[i].QueueID != winner {
			t.Errorf("request %d got queue ID %s, want the winner's %s", i, got[i].QueueID, winner)
		}
	}
}

// TestStoreDown: while the shared PostgreSQL is down, a key look-up is an
// error of its own, never ErrUnknownKey (which would be a 401 telling the
// client its key is bad rather than a 503 to try later), and an
// Idempotency-Key cannot be reserved; when it is back, the same Store works.
func TestStoreDown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pg := pgtest.StartCluster(t)
	st := openOn(t, store.Options{Backend: pgtest.NewDB(t, pg.URL)})
	_, key, err := st.NewKey(ctx, "ehr")
	if err != nil {
		t.Fatal(err)
	}
	pg.Stop(t)
	if _, _, err := st.Client(ctx, key); err == nil || errors.Is(err, ErrUnknownKey) {
		t.Fatalf("key look-up with the store down: %v, want an error that is not ErrUnknownKey", err)
	}
	if _, _, err := st.reserve(ctx, "ehr", "k-down", "h", "Q1"); err == nil {
		t.Fatal("an Idempotency-Key was reserved with the store down")
	}
	pg.Start(t)
	ok := false
	for range 50 { // the pool drops its dead connections one failed use at a time
		if c, _, err := st.Client(ctx, key); err == nil && c == "ehr" {
			ok = true
			break
		}
	}
	if !ok {
		t.Fatal("the key does not work again once the store is back")
	}
}
