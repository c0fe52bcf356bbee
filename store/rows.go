package store

import (
	"context"
	"database/sql"
)

// Row is one result row as *sql.Row and *sql.Rows both give it.
type Row = interface{ Scan(dest ...any) error }

// queryAll runs q (written with ? placeholders) and returns what scan
// makes of each row, in order. An error of the query, of a row or of the
// iteration is returned alone, never with part of the list.
func queryAll[T any](ctx context.Context, db *sql.DB, d dialect, scan func(Row) (T, error), q string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, d.rebind(q), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// QueryAll runs q on db (with ? placeholders) and returns what scan makes
// of each row, in order, or the first error.
func QueryAll[T any](ctx context.Context, db *DB, scan func(Row) (T, error), q string, args ...any) ([]T, error) {
	return queryAll(ctx, db.db, db.d, scan, q, args...)
}

// scanString reads a row of one text column.
func scanString(r Row) (s string, err error) {
	err = r.Scan(&s)
	return s, err
}
