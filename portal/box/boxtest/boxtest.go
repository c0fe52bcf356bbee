// Package boxtest opens the real pickup store for tests of the parts that
// hand messages to it (the encryptor, delivery's fallback): an SQLite portal
// store in a temporary folder with its own master key, adapted by box.
package boxtest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/sealgate/sealgate/portal/box"
	"github.com/sealgate/sealgate/portal/keywrap"
	"github.com/sealgate/sealgate/store"
)

// Box is a pickup store for one test: Store is what the encryptor is given,
// Portal the store behind it.
type Box struct {
	*box.Store
	Portal *store.Store
	t      testing.TB
}

// Open opens a Box under a fresh temporary folder. now is the store's clock
// (nil for time.Now); the store is closed when the test ends.
func Open(t testing.TB, now func() time.Time) *Box {
	t.Helper()
	dir := t.TempDir()
	master, err := keywrap.LoadOrCreate(filepath.Join(dir, "portal.key"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), store.Options{Backend: "sqlite",
		Dir: filepath.Join(dir, "portal"), Master: master, TTL: 24 * time.Hour, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close(context.Background()) })
	return &Box{Store: box.New(st), Portal: st, t: t}
}

// Len is the number of messages in the store that can still be read.
func (b *Box) Len() int {
	n, err := b.Portal.Count(context.Background())
	if err != nil {
		b.t.Fatalf("boxtest: count: %v", err)
	}
	return n
}
