package store

import (
	"context"
	"database/sql"
	"log/slog"
)

// DB is the shared store's database as other packages use it for tables
// of their own (the HTTP API's keys, for example). Their tables are made
// by this package's migrations, so every table has one version history.
// Queries are written with ? placeholders and run on either backend; SQL
// that differs between SQLite and PostgreSQL is not written through DB.
// A DB is safe for concurrent use.
type DB struct {
	db *sql.DB
	d  dialect
}

// OpenDB connects to the store opts names and applies the migrations it
// lacks (or with opts.ReadOnly refuses a store that lacks some), as Open
// does, without anything of the portal's (no master key):
// for a gateway that runs the API but no portal. Close it when done.
func OpenDB(ctx context.Context, opts Options) (*DB, error) {
	db, d, err := connectMigrated(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &DB{db: db, d: d}, nil
}

func logApplied(log *slog.Logger, done []Migration) {
	if log == nil {
		return
	}
	for _, m := range done {
		log.Info("store migration applied", slog.Int("version", m.Version), slog.String("name", m.Name), slog.Bool("adopted", m.Adopted))
	}
}

// Close closes the database. A DB from Store.DB is closed by Store.Close.
func (db *DB) Close() error { return db.db.Close() }

// Postgres reports whether the store is PostgreSQL (shared by nodes).
func (db *DB) Postgres() bool { return db.d.name == postgres.name }

// Exec runs a statement written with ? placeholders.
func (db *DB) Exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return db.db.ExecContext(ctx, db.d.rebind(q), args...)
}

// QueryRow runs a query expected to return at most one row.
func (db *DB) QueryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return db.db.QueryRowContext(ctx, db.d.rebind(q), args...)
}

// Query runs a query that returns rows.
func (db *DB) Query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return db.db.QueryContext(ctx, db.d.rebind(q), args...)
}

// Tx is one transaction on a DB; statements use ? placeholders.
type Tx struct {
	tx *sql.Tx
	d  dialect
}

// InTx runs fn in one transaction (BEGIN IMMEDIATE on SQLite), committed
// when fn returns nil and rolled back otherwise.
func (db *DB) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(&Tx{tx: tx, d: db.d}); err != nil {
		return err
	}
	return tx.Commit()
}

// Exec runs a statement in the transaction.
func (t *Tx) Exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(ctx, t.d.rebind(q), args...)
}

// QueryRow runs a one-row query in the transaction.
func (t *Tx) QueryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(ctx, t.d.rebind(q), args...)
}
