package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sealgate/sealgate/portal/seal"
	"github.com/sealgate/sealgate/store"
)

// A message is stored sealed, found by its link token, read, revoked and
// then gone; the audit trail stays.
func ExampleStore() {
	dir, _ := os.MkdirTemp("", "portal")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	master, _ := seal.LoadOrCreate(filepath.Join(dir, "keys", "portal.key"))
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
