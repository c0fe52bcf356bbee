package api

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestKeysAreStoredAsHashes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := OpenStore(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	id, key, err := st.NewKey(ctx, "ehr")
	if err != nil || !strings.HasPrefix(key, "sgk_"+id+"_") || len(key) < 40 {
		t.Fatalf("new key %q %q %v", id, key, err)
	}
	if c, gotID, err := st.Client(ctx, key); err != nil || c != "ehr" || gotID != id {
		t.Fatalf("lookup: %q %q %v", c, gotID, err)
	}
	var n int
	secret := key[strings.LastIndexByte(key, '_')+1:]
	if err := st.db.QueryRow(`SELECT count(*) FROM api_keys WHERE instr(id || client || hash, ?) > 0`, secret).Scan(&n); err != nil || n != 0 {
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
func TestIdempotencyAndStatus(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := OpenStore(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
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
	st.db.Exec(`UPDATE api_recipients SET updated = updated - 7200`)
	st.db.Exec(`UPDATE api_idempotency SET created = created - 7200`)
	st.Purge(ctx, time.Hour)
	if rs, _, _ := st.status(ctx, "ehr", "Q4"); len(rs) != 0 {
		t.Error("purge kept old states")
	}
	if _, found, _ := st.reserve(ctx, "ehr", "k1", "h1", "Q6"); found {
		t.Error("purge kept an old idempotency key")
	}
}
