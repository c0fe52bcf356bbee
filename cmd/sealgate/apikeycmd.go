package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/sealgate/sealgate/api"
	"github.com/sealgate/sealgate/config"
	"github.com/sealgate/sealgate/store"
)

// cmdAPIKey is `sealgate apikey new --client NAME | list | revoke ID`. Keys
// live in the shared store (store:) as SHA-256 hashes; new prints the key
// once. Every running gateway reads the store on every request, so a new
// or revoked key counts at once.
func cmdAPIKey(inv *invocation, io stdio) int {
	cfg, src, err := commandConfig(inv)
	if err != nil {
		fmt.Fprintln(io.err, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	op := inv.cmd.path[1]
	legacy := filepath.Join(cfg.DataDir, api.LegacyFile)
	if op == "list" {
		return apikeyList(ctx, cfg, src, legacy, inv.on("json"), io)
	}
	if _, err := store.ReadStatus(ctx, storeOptions(cfg)); op != "new" && errors.Is(err, store.ErrNoStore) && !fileExists(legacy) {
		return noAPIStore(cfg, src, io)
	}
	db, err := store.OpenDB(ctx, storeOptions(cfg))
	if err != nil {
		return io.fail("apikey: %v", err)
	}
	defer db.Close()
	st := api.NewStore(db)
	if err := importAPIFile(ctx, st, cfg, nil); err != nil {
		return io.fail("apikey: %v", err)
	}
	switch op {
	case "new":
		return apikeyNew(ctx, st, cfg, src, inv.flag("client"), io)
	}
	if err := st.Revoke(ctx, inv.args[0]); err != nil {
		return io.fail("apikey revoke: %v", err)
	}
	fmt.Fprintf(io.out, "%s: revoked\n", inv.args[0])
	return 0
}

// storedKeys reads the keys in the store, opened read-only.
func storedKeys(ctx context.Context, cfg *config.Config) ([]api.KeyInfo, error) {
	opts := storeOptions(cfg)
	opts.ReadOnly = true
	db, err := store.OpenDB(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return api.NewStore(db).Keys(ctx)
}

// noAPIStore is the error of a command that needs keys where there are none.
func noAPIStore(cfg *config.Config, src configSource, io stdio) int {
	return io.fail("apikey: no store at %s (config: %s): make a key with `sealgate apikey new --client NAME`", storePlace(cfg), src)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func apikeyNew(ctx context.Context, st *api.Store, cfg *config.Config, src configSource, client string, io stdio) int {
	if client == "" {
		return io.fail("apikey new: --client NAME is required: the key belongs to a configured client")
	}
	if !slices.ContainsFunc(cfg.Clients, func(c config.Client) bool { return c.Name == client }) {
		return io.fail("apikey new: no client %q in %s", client, src)
	}
	id, key, err := st.NewKey(ctx, client)
	if err != nil {
		return io.fail("apikey new: %v", err)
	}
	fmt.Fprintf(io.err, "key %s for client %s; it is shown only now, sealgate keeps only its hash:\n", id, client)
	fmt.Fprintln(io.out, key)
	return 0
}

// apikeyList lists the keys read-only: it opens the store without
// migrating or creating it, and adds the keys of an old api.db not yet
// moved into the store (the next serve or apikey new|revoke moves it).
func apikeyList(ctx context.Context, cfg *config.Config, src configSource, legacy string, asJSON bool, io stdio) int {
	keys, err := storedKeys(ctx, cfg)
	haveLegacy := fileExists(legacy)
	switch {
	case errors.Is(err, store.ErrNoStore) && !haveLegacy:
		return noAPIStore(cfg, src, io)
	case err != nil && !errors.Is(err, store.ErrNoStore):
		return io.fail("apikey list: %v", err)
	}
	if haveLegacy {
		old, err := api.LegacyKeys(ctx, legacy)
		if err != nil {
			return io.fail("apikey list: %v", err)
		}
		for _, k := range old {
			if !slices.ContainsFunc(keys, func(s api.KeyInfo) bool { return s.ID == k.ID }) {
				keys = append(keys, k)
			}
		}
	}
	if asJSON {
		json.NewEncoder(io.out).Encode(keys)
		return 0
	}
	tw := tabwriter.NewWriter(io.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCLIENT\tCREATED\tSTATE")
	for _, k := range keys {
		state := "live"
		if k.Revoked {
			state = "revoked"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.ID, k.Client, k.Created.Format(time.RFC3339), state)
	}
	tw.Flush()
	return 0
}
