package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// migration is one versioned step of the store's schema. A released
// migration is never changed: a new table, column or index is a new
// migration with the next version, appended to migrations. Migrations only
// add, so a node still on the older release keeps working while the
// others are upgraded (docs/operations.md, "Shared store").
type migration struct {
	version int
	name    string
	stmts   func(d dialect) []string
}

// migrations is the schema, oldest first; versions count up from 1
// without gaps.
var migrations = []migration{
	{1, "portal", portalSchema},
	{2, "consents", consentSchema},
	{3, "api", apiSchema},
	{4, "bounces", bounceSchema},
	{5, "mta-sts", mtastsSchema},
	{6, "tls-reports", tlsrptSchema},
	{7, "evidence-index", evidenceIndexSchema},
	{8, "evidence-index-age", evidenceIndexAgeSchema},
}

// Known lists the migrations this sealgate knows, oldest first.
func Known() []Migration {
	out := make([]Migration, len(migrations))
	for i, m := range migrations {
		out[i] = Migration{Version: m.version, Name: m.name}
	}
	return out
}

// Migration is one schema step as Migrate and ReadStatus report it.
type Migration struct {
	Version int
	Name    string
	// Applied is when it was recorded; zero while pending.
	Applied time.Time
	// Adopted is true when Migrate recorded it for tables that an older
	// sealgate had made (the portal_schema scheme) rather than made them.
	Adopted bool
}

// Status is the state of a store's schema, read without changing it.
type Status struct {
	// Backend is "sqlite" or "postgres".
	Backend string
	// Version is the highest applied migration; 0 for none.
	Version int
	// Applied lists the recorded migrations, oldest first.
	Applied []Migration
	// Pending lists the migrations this sealgate would apply.
	Pending []Migration
	// Legacy is true when the database was made by the old portal_schema
	// scheme and no migration is recorded yet: Migrate adopts it.
	Legacy bool
}

// ErrNoStore is returned by ReadStatus when no store exists yet (no
// SQLite file, or a PostgreSQL database without sealgate's tables).
var ErrNoStore = errors.New("store: no store exists yet (run sealgate store migrate or serve)")

// ErrSchemaBehind is returned by a read-only open (Options.ReadOnly) of a
// store whose schema lacks migrations this sealgate knows; the error
// names both versions and that `sealgate store migrate` upgrades it.
var ErrSchemaBehind = errors.New("store schema is older than this sealgate")

// checkCurrent returns ErrSchemaBehind, with the versions, when the store
// lacks a migration this sealgate knows, and ErrNoStore when it has none.
// It reads only.
func checkCurrent(ctx context.Context, db *sql.DB, d dialect) error {
	st, err := readStatus(ctx, db, d)
	if err != nil {
		return err
	}
	if len(st.Pending) == 0 {
		return nil
	}
	return schemaBehind{have: st.Version, need: migrations[len(migrations)-1].version}
}

// schemaBehind is ErrSchemaBehind with the versions.
type schemaBehind struct{ have, need int }

func (e schemaBehind) Error() string {
	return fmt.Sprintf("store schema is at version %d, this sealgate needs %d: run sealgate store migrate", e.have, e.need)
}

func (e schemaBehind) Is(target error) bool { return target == ErrSchemaBehind }

// migrateLock is the PostgreSQL advisory lock key that serialises
// migrations across nodes ("sealgate" in the low bytes).
const migrateLock int64 = 0x5ea1_6a7e_0001

// Migrate opens the store named by opts, applies the migrations it lacks
// (each in its own transaction, serialised across nodes) and returns
// those it applied. It needs no master key: the CLI runs it before the
// gateway starts.
func Migrate(ctx context.Context, opts Options) ([]Migration, error) {
	db, d, err := connect(ctx, opts, false)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return migrate(ctx, db, d, now(opts))
}

// ReadStatus reports the schema state of the store named by opts without
// creating or changing anything. It returns ErrNoStore when there is no
// store yet.
func ReadStatus(ctx context.Context, opts Options) (Status, error) {
	db, d, err := connect(ctx, opts, true)
	if err != nil {
		return Status{}, err
	}
	defer db.Close()
	return readStatus(ctx, db, d)
}

func now(opts Options) time.Time {
	if opts.Now != nil {
		return opts.Now()
	}
	return time.Now()
}

// migrate applies every pending migration, one transaction each. On
// PostgreSQL a transaction-scoped advisory lock makes a second node wait
// and then find the step done; on SQLite BEGIN IMMEDIATE (the driver's
// _txlock) does the same for processes sharing the file.
func migrate(ctx context.Context, db *sql.DB, d dialect, at time.Time) ([]Migration, error) {
	legacy, err := tableExists(ctx, db, d, "portal_schema")
	if err != nil {
		return nil, fmt.Errorf("store: migrate: %w", err)
	}
	var done []Migration
	for _, m := range migrations {
		applied, err := applyOne(ctx, db, d, m, at)
		if err != nil {
			return done, fmt.Errorf("store: migration %d (%s): %w", m.version, m.name, err)
		}
		if applied {
			done = append(done, Migration{Version: m.version, Name: m.name, Applied: at,
				Adopted: legacy && m.version == 1})
		}
	}
	return done, nil
}

// applyOne runs m unless it is recorded, and records it, in one
// transaction. It reports whether it applied m.
func applyOne(ctx context.Context, db *sql.DB, d dialect, m migration, at time.Time) (bool, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	if d.name == postgres.name {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLock); err != nil {
			return false, err
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		name TEXT NOT NULL,
		applied BIGINT NOT NULL)`); err != nil {
		return false, err
	}
	var n int
	if err := tx.QueryRowContext(ctx, d.rebind(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), m.version).Scan(&n); err != nil {
		return false, err
	}
	if n > 0 {
		return false, tx.Commit()
	}
	for _, q := range m.stmts(d) {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return false, err
		}
	}
	if _, err := tx.ExecContext(ctx, d.rebind(`INSERT INTO schema_migrations (version, name, applied) VALUES (?, ?, ?)`),
		m.version, m.name, at.UnixMilli()); err != nil {
		return false, err
	}
	return true, tx.Commit()
}

func readStatus(ctx context.Context, db *sql.DB, d dialect) (Status, error) {
	st := Status{Backend: d.name}
	recorded, err := tableExists(ctx, db, d, "schema_migrations")
	if err != nil {
		return st, fmt.Errorf("store: status: %w", err)
	}
	if st.Legacy, err = tableExists(ctx, db, d, "portal_schema"); err != nil {
		return st, fmt.Errorf("store: status: %w", err)
	}
	if !recorded && !st.Legacy {
		return st, ErrNoStore
	}
	have := map[int]bool{}
	if recorded {
		st.Applied, err = queryAll(ctx, db, d, func(r Row) (m Migration, err error) {
			var ms int64
			err = r.Scan(&m.Version, &m.Name, &ms)
			m.Applied = time.UnixMilli(ms).UTC()
			return m, err
		}, `SELECT version, name, applied FROM schema_migrations ORDER BY version`)
		if err != nil {
			return st, fmt.Errorf("store: status: %w", err)
		}
		for _, m := range st.Applied {
			have[m.Version] = true
			st.Version = max(st.Version, m.Version)
		}
		st.Legacy = st.Legacy && len(st.Applied) == 0
	}
	for _, m := range migrations {
		if !have[m.version] {
			st.Pending = append(st.Pending, Migration{Version: m.version, Name: m.name})
		}
	}
	return st, nil
}

// tableExists reports whether the named table is in the store's schema.
func tableExists(ctx context.Context, db *sql.DB, d dialect, name string) (bool, error) {
	q := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?`
	if d.name == postgres.name {
		q = `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1`
	}
	var n int
	if err := db.QueryRowContext(ctx, q, name).Scan(&n); err != nil {
		return false, err
	}
	return n > 0, nil
}
