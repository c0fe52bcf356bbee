package main

import (
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sealgate/sealgate/portal/keywrap"
	"github.com/sealgate/sealgate/store"
)

// TestReadOnlyCommandsDoNotMigrate: the commands that only read the
// store (stats, consent list, suppress list and export, portal list
// and audit) leave a store whose schema is one migration behind
// exactly as it was, and fail naming both versions and `sealgate store
// migrate`, rather than upgrading a database other nodes share.
func TestReadOnlyCommandsDoNotMigrate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the built binary; skipped with -short")
	}
	bin := buildBinary(t)
	data := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(cfg, []byte("data_dir: "+data+"\n"+plainConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := keywrap.LoadOrCreate(filepath.Join(data, "keys", "portal.key")); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	opts := store.Options{Backend: "sqlite", Dir: filepath.Join(data, "portal")}
	db, err := store.OpenDB(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	known := store.Known()
	last := known[len(known)-1].Version
	if _, err := db.Exec(ctx, `DELETE FROM schema_migrations WHERE version = ?`, last); err != nil {
		t.Fatal(err)
	}
	db.Close()
	file := filepath.Join(opts.Dir, "portal.db")
	before := fileSum(t, file)
	want := "store schema is at version " + strconv.Itoa(last-1) + ", this sealgate needs " + strconv.Itoa(last) + ": run sealgate store migrate"
	for _, args := range [][]string{
		{"stats"}, {"consent", "list"}, {"suppress", "list"}, {"suppress", "export"},
		{"portal", "list"}, {"portal", "audit", "X1"},
	} {
		code, out, errs := sealgateCmd(t, bin, t.TempDir(), nil, append(args, "--config", cfg)...)
		if code == 0 || out != "" || !strings.Contains(errs, want) {
			t.Errorf("%q on an older schema: exit %d, stdout %q, stderr %q; want failure saying %q", args, code, out, errs, want)
		}
	}
	st, err := store.ReadStatus(ctx, opts)
	if err != nil || len(st.Pending) != 1 || st.Pending[0].Version != last {
		t.Fatalf("after the read-only commands the store's pending steps are %+v (%v), want only %d", st.Pending, err, last)
	}
	if fileSum(t, file) != before {
		t.Error("a read-only command changed portal.db")
	}
	if code, _, errs := sealgateCmd(t, bin, t.TempDir(), nil, "store", "migrate", "--config", cfg); code != 0 {
		t.Fatalf("store migrate: %d %s", code, errs)
	}
	if code, out, errs := sealgateCmd(t, bin, t.TempDir(), nil, "suppress", "list", "--config", cfg); code != 0 {
		t.Errorf("suppress list after store migrate: exit %d, %q %q", code, out, errs)
	}
}

func fileSum(t *testing.T, p string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}
