package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sealgate/sealgate/internal/pgtest"
)

// targets name an empty store location per backend: a new SQLite folder
// or a new PostgreSQL database on one throwaway server.
var targets = map[string]func(t *testing.T) func(t *testing.T) Options{
	"sqlite": func(*testing.T) func(t *testing.T) Options {
		return func(t *testing.T) Options {
			return Options{Backend: "sqlite", Dir: filepath.Join(t.TempDir(), "portal")}
		}
	},
	"postgres": func(t *testing.T) func(t *testing.T) Options {
		server := pgtest.Server(t)
		return func(t *testing.T) Options { return Options{Backend: pgtest.NewDB(t, server)} }
	},
}

// TestMigrations runs the migration suite against SQLite and PostgreSQL.
func TestMigrations(t *testing.T) {
	tests := map[string]func(*testing.T, Options){
		"Fresh":              testMigrateFresh,
		"StatusReadOnly":     testStatusReadOnly,
		"AdoptOldScheme":     testAdoptOldScheme,
		"Concurrent":         testConcurrentMigrators,
		"FailedRollsBack":    testFailedMigrationRollsBack,
		"ReadOnlyOpen":       testReadOnlyOpen,
		"EvidenceIndex":      testEvidenceIndex,
		"EvidenceIndexPrune": testEvidenceIndexPrune,
	}
	for bname, target := range targets {
		t.Run(bname, func(t *testing.T) {
			next := target(t)
			for name, fn := range tests {
				t.Run(name, func(t *testing.T) { fn(t, next(t)) })
			}
		})
	}
}

func testMigrateFresh(t *testing.T, o Options) {
	ctx := context.Background()
	at := time.Date(2026, 12, 6, 23, 0, 0, 0, time.UTC)
	o.Now = func() time.Time { return at }
	done, err := Migrate(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(done) != len(migrations) || done[0].Version != 1 || done[0].Name != "portal" || done[0].Adopted {
		t.Fatalf("a fresh store applied %+v, want every migration from 1 (portal), none adopted", done)
	}
	again, err := Migrate(ctx, o)
	if err != nil || len(again) != 0 {
		t.Fatalf("a second migrate applied %+v (%v), want nothing", again, err)
	}
	st, err := ReadStatus(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	last := migrations[len(migrations)-1].version
	if st.Version != last || len(st.Pending) != 0 || len(st.Applied) != len(migrations) || st.Legacy {
		t.Fatalf("status %+v, want version %d, nothing pending", st, last)
	}
	if !st.Applied[0].Applied.Equal(at) {
		t.Errorf("migration 1 recorded at %v, want %v", st.Applied[0].Applied, at)
	}
	want := "postgres"
	if o.Dir != "" {
		want = "sqlite"
	}
	if st.Backend != want {
		t.Errorf("status names the backend %q, want %q", st.Backend, want)
	}
}

// testStatusReadOnly: status on a missing store says so and creates
// nothing; on an existing one it reports the pending steps and applies none.
func testStatusReadOnly(t *testing.T, o Options) {
	ctx := context.Background()
	if _, err := ReadStatus(ctx, o); !errors.Is(err, ErrNoStore) {
		t.Fatalf("status of a store that does not exist: %v, want ErrNoStore", err)
	}
	if o.Dir != "" {
		if _, err := os.Stat(o.Dir); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("status created the SQLite folder %s (%v)", o.Dir, err)
		}
	} else {
		db := rawDB(t, o)
		if ok, err := tableExists(ctx, db, postgres, "schema_migrations"); ok || err != nil {
			t.Fatalf("status created schema_migrations on PostgreSQL (%v)", err)
		}
	}
	if _, err := Migrate(ctx, o); err != nil {
		t.Fatal(err)
	}
	db := rawDB(t, o)
	if _, err := db.Exec(`DELETE FROM schema_migrations WHERE version = 1`); err != nil {
		t.Fatal(err)
	}
	st, err := ReadStatus(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Pending) != 1 || st.Pending[0].Version != 1 {
		t.Fatalf("status pending %+v, want migration 1", st.Pending)
	}
	if st2, _ := ReadStatus(ctx, o); len(st2.Pending) != 1 {
		t.Fatalf("status applied a migration: pending now %+v", st2.Pending)
	}
}

// testReadOnlyOpen: a read-only open of a store one migration behind
// refuses with the versions and applies nothing; of a current store it
// reads, and a write through it fails.
func testReadOnlyOpen(t *testing.T, o Options) {
	ctx := context.Background()
	ro := o
	ro.ReadOnly = true
	if _, err := OpenDB(ctx, ro); !errors.Is(err, ErrNoStore) {
		t.Fatalf("read-only open of no store: %v, want ErrNoStore", err)
	}
	saved := migrations
	migrations = migrations[:len(migrations)-1]
	_, err := Migrate(ctx, o)
	migrations = saved
	if err != nil {
		t.Fatal(err)
	}
	last := saved[len(saved)-1].version
	_, err = OpenDB(ctx, ro)
	want := fmt.Sprintf("store schema is at version %d, this sealgate needs %d: run sealgate store migrate", last-1, last)
	if !errors.Is(err, ErrSchemaBehind) || err.Error() != want {
		t.Fatalf("read-only open of an older schema: %v, want %q", err, want)
	}
	ro.Master = testMaster(t)
	if _, err := Open(ctx, ro); !errors.Is(err, ErrSchemaBehind) {
		t.Fatalf("read-only Open of an older schema: %v, want ErrSchemaBehind", err)
	}
	if st, err := ReadStatus(ctx, o); err != nil || len(st.Pending) != 1 || st.Pending[0].Version != last {
		t.Fatalf("after read-only opens the store's pending steps are %+v (%v), want only %d", st.Pending, err, last)
	}
	if _, err := Migrate(ctx, o); err != nil {
		t.Fatal(err)
	}
	db, err := OpenDB(ctx, ro)
	if err != nil {
		t.Fatalf("read-only open of a current store: %v", err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(saved) {
		t.Fatalf("reading through a read-only open: %d, %v", n, err)
	}
	if _, err := db.Exec(ctx, `DELETE FROM schema_migrations`); err == nil {
		t.Fatal("a read-only open deleted rows")
	}
}

// oldScheme makes a database the way sealgate did before versioned
// migrations: the portal tables and portal_schema holding version 1.
func oldScheme(t *testing.T, db *sql.DB, d dialect) {
	for _, q := range append(portalSchema(d), `CREATE TABLE IF NOT EXISTS portal_schema (version INTEGER NOT NULL)`,
		`INSERT INTO portal_schema (version) VALUES (1)`,
		`INSERT INTO suppressions (domain, address, reason, at) VALUES ('clinic.example', 'gone@home.example', 'unsubscribe', 1)`) {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
}

func testAdoptOldScheme(t *testing.T, o Options) {
	ctx := context.Background()
	db := rawDB(t, o)
	d := sqlite
	if o.Dir == "" {
		d = postgres
	}
	oldScheme(t, db, d)
	st, err := ReadStatus(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Legacy || st.Version != 0 || len(st.Pending) != len(migrations) {
		t.Fatalf("status of an old-scheme store %+v, want legacy, version 0, all pending", st)
	}
	done, err := Migrate(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(done) == 0 || done[0].Version != 1 || !done[0].Adopted {
		t.Fatalf("migrate on an old-scheme store: %+v, want migration 1 adopted", done)
	}
	var reason string
	if err := db.QueryRow(d.rebind(`SELECT reason FROM suppressions WHERE address = ?`), "gone@home.example").Scan(&reason); err != nil || reason != "unsubscribe" {
		t.Fatalf("the old store's suppression after adoption: %q, %v", reason, err)
	}
	if st, err = ReadStatus(ctx, o); err != nil || st.Legacy || len(st.Pending) != 0 {
		t.Fatalf("status after adoption %+v (%v), want nothing pending", st, err)
	}
}

// testConcurrentMigrators: several nodes start at once on one empty
// store; every migration is applied exactly once and none fails.
func testConcurrentMigrators(t *testing.T, o Options) {
	const nodes = 4
	var wg sync.WaitGroup
	start := make(chan struct{})
	results := make([][]Migration, nodes)
	errs := make([]error, nodes)
	for i := range nodes {
		wg.Go(func() {
			<-start
			results[i], errs[i] = Migrate(context.Background(), o)
		})
	}
	close(start)
	wg.Wait()
	applied := map[int]int{}
	for i := range nodes {
		if errs[i] != nil {
			t.Fatalf("migrator %d: %v", i, errs[i])
		}
		for _, m := range results[i] {
			applied[m.Version]++
		}
	}
	for _, m := range migrations {
		if applied[m.version] != 1 {
			t.Errorf("migration %d applied %d times by %d concurrent migrators, want once", m.version, applied[m.version], nodes)
		}
	}
	var rows int
	if err := rawDB(t, o).QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&rows); err != nil || rows != len(migrations) {
		t.Fatalf("schema_migrations holds %d rows (%v), want %d", rows, err, len(migrations))
	}
}

// testFailedMigrationRollsBack: a migration that fails half-way leaves
// neither its first table nor its record behind.
func testFailedMigrationRollsBack(t *testing.T, o Options) {
	saved := migrations
	t.Cleanup(func() { migrations = saved })
	next := saved[len(saved)-1].version + 1
	migrations = append(saved[:len(saved):len(saved)], migration{next, "broken", func(dialect) []string {
		return []string{`CREATE TABLE half_done (x INTEGER)`, `THIS IS NOT SQL`}
	}})
	if _, err := Migrate(context.Background(), o); err == nil {
		t.Fatal("a broken migration did not fail")
	}
	db := rawDB(t, o)
	d := sqlite
	if o.Dir == "" {
		d = postgres
	}
	if ok, err := tableExists(context.Background(), db, d, "half_done"); ok || err != nil {
		t.Fatalf("the failed migration's first table stayed (%v)", err)
	}
	st, err := ReadStatus(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if st.Version != next-1 || len(st.Pending) != 1 || st.Pending[0].Name != "broken" {
		t.Fatalf("after a failed migration: %+v, want version %d and the broken one pending", st, next-1)
	}
}

// rawDB opens the store's database for inspection, closed at the end of t.
func rawDB(t *testing.T, o Options) *sql.DB {
	db, _, err := connect(context.Background(), o, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestConnectTimeout: a postgres URL without connect_timeout gets one, so
// a database that is down is an error within seconds; one the operator
// set is kept.
func TestConnectTimeout(t *testing.T) {
	got := withConnectTimeout("postgres://sealgate@db.example.org/sealgate?sslmode=verify-full")
	if !strings.Contains(got, "connect_timeout="+defaultConnectTimeout) || !strings.Contains(got, "sslmode=verify-full") {
		t.Errorf("no default connect_timeout: %s", got)
	}
	const own = "postgres://db.example.org/s?connect_timeout=30"
	if got := withConnectTimeout(own); got != own {
		t.Errorf("the operator's connect_timeout was changed: %s", got)
	}
}

// TestMigrationVersions: versions count up from 1 without gaps or
// repeats and every migration has a name, so two changes that both took
// the next number cannot both land unnoticed.
func TestMigrationVersions(t *testing.T) {
	for i, m := range migrations {
		if m.version != i+1 || m.name == "" || m.stmts == nil {
			t.Errorf("migrations[%d] is version %d %q, want version %d with a name and statements", i, m.version, m.name, i+1)
		}
	}
}

// openTestDB opens the store o names as a DB, closed when the test ends.
func openTestDB(t *testing.T, o Options) *DB {
	t.Helper()
	db, err := OpenDB(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
