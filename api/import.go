package api

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	_ "modernc.org/sqlite" // pure-Go SQLite driver "sqlite", for the old file

	"github.com/sealgate/sealgate/store"
)

// LegacyFile is where the API kept its state before the shared store,
// under the data folder.
const LegacyFile = "api/api.db"

// importTables are the old file's tables and columns, copied as they are.
var importTables = []struct{ table, cols, conflict string }{
	{"api_keys", "id, client, hash, created, revoked", "(id)"},
	{"api_idempotency", "client, key, body_hash, queue_id, done, created", "(client, key)"},
	{"api_recipients", "queue_id, client, rcpt, seq, status, attempts, code, enhanced, submitted, updated", "(queue_id, seq)"},
}

// ImportFile moves the state of an API store file from before the shared
// store (<data_dir>/api/api.db) into s: every key, Idempotency-Key and
// message state is copied in one transaction (what s already has wins),
// and then the file is removed, so it is read once and no second copy of
// recipient addresses stays behind. No file: nothing to do. It returns the
// rows copied.
func (s *Store) ImportFile(ctx context.Context, path string) (int, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	old, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return 0, fmt.Errorf("api import: %w", err)
	}
	defer old.Close()
	n := 0
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		for _, t := range importTables {
			c, err := copyTable(ctx, old, tx, t.table, t.cols, t.conflict)
			if err != nil {
				return fmt.Errorf("%s: %w", t.table, err)
			}
			n += c
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("api import of %s: %w", path, err)
	}
	old.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return n, fmt.Errorf("api import: copied, but %w", err)
		}
	}
	os.Remove(filepath.Dir(path)) // the api folder, if nothing else is in it
	return n, nil
}

// copyTable copies the rows of one table from the old file into tx.
func copyTable(ctx context.Context, old *sql.DB, tx *store.Tx, table, cols, conflict string) (int, error) {
	rows, err := old.QueryContext(ctx, "SELECT "+cols+" FROM "+table)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	names, _ := rows.Columns()
	marks := "?" + strings.Repeat(", ?", len(names)-1)
	insert := "INSERT INTO " + table + " (" + cols + ") VALUES (" + marks + ") ON CONFLICT " + conflict + " DO NOTHING"
	n := 0
	for rows.Next() {
		vals := make([]any, len(names))
		ptrs := make([]any, len(names))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		if _, err := tx.Exec(ctx, insert, vals...); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

// LegacyKeys reads the keys of an API store file from before the shared
// store without changing it (SQLite mode=ro): `sealgate apikey list`
// shows them before the next serve or apikey new|revoke moves the file
// into the store.
func LegacyKeys(ctx context.Context, path string) ([]KeyInfo, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	old, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, fmt.Errorf("api: %s: %w", path, err)
	}
	defer old.Close()
	rows, err := old.QueryContext(ctx, `SELECT id, client, created, revoked FROM api_keys ORDER BY created, id`)
	if err != nil {
		return nil, fmt.Errorf("api: %s: %w", path, err)
	}
	return scanKeys(rows)
}
