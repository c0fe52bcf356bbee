package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/sealgate/sealgate/config"
	"github.com/sealgate/sealgate/store"
)

// storeOptions says where the configured shared store lives (SQLite in
// <data_dir>/portal, or the PostgreSQL URL) and its pool limits; every
// command and serve open the store through it.
func storeOptions(cfg *config.Config) store.Options {
	s := cfg.Store
	return store.Options{
		Backend: cfg.StoreURL(), Dir: filepath.Join(cfg.DataDir, "portal"),
		MaxOpenConns: s.MaxOpenConns, MaxIdleConns: s.MaxIdleConns,
		ConnMaxLifetime: s.ConnMaxLifetime, ConnMaxIdleTime: s.ConnMaxIdleTime,
	}
}

// storePlace names the store for people without repeating a URL, which
// may carry a password.
func storePlace(cfg *config.Config) string {
	if !cfg.SharedStore() {
		return "sqlite " + filepath.Join(cfg.DataDir, "portal", "portal.db")
	}
	return "postgres (store in the config)"
}

// cmdStore is `sealgate store status|migrate`. status reads the schema
// state and never creates or changes a store; migrate applies what is
// pending (serve does the same on start).
func cmdStore(inv *invocation, io stdio) int {
	cfg, src, err := commandConfig(inv)
	if err != nil {
		fmt.Fprintln(io.err, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if inv.cmd.path[1] == "migrate" {
		return storeMigrate(ctx, cfg, io)
	}
	st, err := store.ReadStatus(ctx, storeOptions(cfg))
	if errors.Is(err, store.ErrNoStore) {
		return io.fail("store status: no store at %s (config: %s): `sealgate store migrate` or serve makes it", storePlace(cfg), src)
	}
	if err != nil {
		return io.fail("store status: %v", err)
	}
	if inv.on("json") {
		return storeStatusJSON(st, io.out)
	}
	fmt.Fprintf(io.out, "store:   %s\nversion: %d\n", storePlace(cfg), st.Version)
	for _, m := range st.Applied {
		fmt.Fprintf(io.out, "applied: %d %s at %s\n", m.Version, m.Name, m.Applied.Format(time.RFC3339))
	}
	if st.Legacy {
		fmt.Fprintln(io.out, "made by an older sealgate (portal_schema): migrate adopts its tables as they are")
	}
	for _, m := range st.Pending {
		fmt.Fprintf(io.out, "pending: %d %s\n", m.Version, m.Name)
	}
	if len(st.Pending) == 0 {
		fmt.Fprintln(io.out, "pending: none")
	}
	return 0
}

func storeStatusJSON(st store.Status, w io.Writer) int {
	type step struct {
		Version int        `json:"version"`
		Name    string     `json:"name"`
		Applied *time.Time `json:"applied,omitempty"`
	}
	out := struct {
		Backend string `json:"backend"`
		Version int    `json:"version"`
		Legacy  bool   `json:"legacy,omitempty"`
		Applied []step `json:"applied"`
		Pending []step `json:"pending"`
	}{Backend: st.Backend, Version: st.Version, Legacy: st.Legacy, Applied: []step{}, Pending: []step{}}
	for _, m := range st.Applied {
		at := m.Applied
		out.Applied = append(out.Applied, step{m.Version, m.Name, &at})
	}
	for _, m := range st.Pending {
		out.Pending = append(out.Pending, step{Version: m.Version, Name: m.Name})
	}
	_ = printJSON(w, out)
	return 0
}

func storeMigrate(ctx context.Context, cfg *config.Config, io stdio) int {
	done, err := store.Migrate(ctx, storeOptions(cfg))
	for _, m := range done {
		how := "applied"
		if m.Adopted {
			how = "adopted (tables made by an older sealgate, kept as they are)"
		}
		fmt.Fprintf(io.out, "%d %s: %s\n", m.Version, m.Name, how)
	}
	if err != nil {
		return io.fail("store migrate: %v", err)
	}
	st, err := store.ReadStatus(ctx, storeOptions(cfg))
	if err != nil {
		return io.fail("store migrate: %v", err)
	}
	if len(done) == 0 {
		fmt.Fprintf(io.out, "nothing to apply: %s is at version %d\n", storePlace(cfg), st.Version)
	} else {
		fmt.Fprintf(io.out, "%s is at version %d\n", storePlace(cfg), st.Version)
	}
	return 0
}
