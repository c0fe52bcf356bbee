package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sealgate/sealgate/portal/keywrap"
	"github.com/sealgate/sealgate/store"
)

// A message is stored encrypted, found by its link token, read, revoked and
// then gone; the audit trail stays.
func ExampleStore() {
	dir, _ := os.MkdirTemp("", "portal")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	master, _ := keywrap.LoadOrCreate(filepath.Join(dir, "keys", "portal.key"))
	st, err := store.Open(ctx, store.Options{Backend: "sqlite", Dir: filepath.Join(dir, "portal"), Master: master, TTL: 720 * time.Hour})
	if err != nil {
		panic(err)
	}
	defer st.Close(ctx)
	st.Start(ctx) // the expiry loop

	token, _ := st.Put(ctx, store.Item{ID: "Q1.a", Sender: "dr@clinic.example", Recipient: "pat@home.example",
		Content: store.Content{Subject: "Results", Text: "All normal."}})
	m, _ := st.Lookup(ctx, token)
	c, _ := st.Open(ctx, m.ID)
	fmt.Println(m.ID, c.Text)

	st.Revoke(ctx, "Q1.a", "operator:alice")
	_, err = st.Open(ctx, "Q1.a")
	fmt.Println(err)
	events, _ := st.Audit(ctx, "Q1.a")
	for _, e := range events {
		fmt.Println(e.Kind, e.Actor)
	}
	// Output:
	// Q1.a All normal.
	// portal store: message revoked, expired or deleted
	// created dr@clinic.example
	// revoke operator:alice
}

// Opening the shared store as a gateway node does. OpenDB applies the
// migrations it lacks (several nodes may do so at once) and needs no
// portal key; Open does the same and adds the portal's calls. ReadStatus
// only reads: it reports ErrNoStore rather than create a store.
func ExampleOpenDB() {
	dir, _ := os.MkdirTemp("", "store")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	opts := store.Options{
		Backend: "sqlite", // or "postgres://sealgate@db.example.org/sealgate?sslmode=verify-full&sslrootcert=/etc/sealgate/db-ca.pem"
		Dir:     filepath.Join(dir, "portal"),
		// PostgreSQL pool limits; zero takes the defaults.
		MaxOpenConns: 20, MaxIdleConns: 5, ConnMaxLifetime: 30 * time.Minute,
	}
	if _, err := store.ReadStatus(ctx, opts); errors.Is(err, store.ErrNoStore) {
		fmt.Println("no store yet")
	}
	db, err := store.OpenDB(ctx, opts)
	if err != nil {
		panic(err)
	}
	defer db.Close()
	st, _ := store.ReadStatus(ctx, opts)
	fmt.Println(st.Backend, len(st.Pending), "pending")
	// Output:
	// no store yet
	// sqlite 0 pending
}
