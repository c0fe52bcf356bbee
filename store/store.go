// Package store is sealgate's shared store: SQLite (embedded, the
// default) for one node or PostgreSQL for several. Its schema is a list of
// versioned migrations recorded in schema_migrations, applied by Open or
// Migrate and safe when several nodes start at once; ReadStatus reports it
// without changing anything.
//
// It keeps the portal's messages (metadata in the database; each message's
// content encrypted under its own message key, which the master key wraps:
// package portal/keywrap), the portal's
// sessions, recipients and rate-limit counters, and the suppression list.
// The link token is kept only as a
// SHA-256 hash and one-time codes only as keyed hashes. Revocation and
// expiry destroy the wrapped key and the encrypted content; the metadata row and
// the audit trail stay.
package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver "pgx"
	sqlitedrv "modernc.org/sqlite"     // pure-Go SQLite driver "sqlite"

	"github.com/sealgate/sealgate/internal/periodic"
	"github.com/sealgate/sealgate/portal/keywrap"
)

// Errors the store returns; test with errors.Is.
var (
	ErrNotFound = errors.New("portal store: no such message")
	ErrGone     = errors.New("portal store: message revoked, expired or deleted")
	ErrLocked   = errors.New("portal store: too many failed codes, locked for now")
)

// Options configure a Store.
type Options struct {
	// Backend is "sqlite" or a postgres:// (postgresql://) URL.
	Backend string
	// Dir is the data folder of the SQLite backend: it holds portal.db and
	// messages/, the encrypted content files
	// (named <id>.sealed, as they have been since the first release).
	Dir string
	// MaxOpenConns, MaxIdleConns, ConnMaxLifetime and ConnMaxIdleTime are
	// the PostgreSQL pool limits (database/sql's); zero takes the defaults
	// 20, 5, 30 minutes and 5 minutes. SQLite always has one connection.
	MaxOpenConns, MaxIdleConns       int
	ConnMaxLifetime, ConnMaxIdleTime time.Duration
	// Master wraps the per-message keys.
	Master *keywrap.Master
	// TTL is how long a message stays when Item.Expires is zero.
	TTL time.Duration
	// PurgeEvery is how often Start's loop removes expired messages;
	// default one minute.
	PurgeEvery time.Duration
	// Log receives operational messages (never addresses or content).
	Log *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
	// ReadOnly opens an existing store for reading only: no folder or
	// file is made, no migration is applied (SQLite opens with mode=ro,
	// PostgreSQL sessions are read-only), and a store whose schema lacks
	// migrations this sealgate knows is refused with ErrSchemaBehind
	// rather than upgraded. The CLI's list, show, export and stats
	// commands use it, so reading never changes a shared database.
	ReadOnly bool
}

// Store is an open portal store. It is safe for concurrent use.
type Store struct {
	opts  Options
	db    *sql.DB
	d     dialect
	blobs blobStore

	mu     sync.Mutex
	purger *periodic.Loop
	// remember groups concurrent RememberRecipients calls into one
	// transaction (bounces.go).
	remember groupCommit
}

// Open connects to the backend and applies the migrations it lacks (see
// Migrate), then serves the portal, suppression and rate-limit calls.
// Options.Master is required.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.Master == nil {
		return nil, errors.New("portal store: no master key")
	}
	if opts.TTL <= 0 {
		opts.TTL = 30 * 24 * time.Hour
	}
	if opts.PurgeEvery <= 0 {
		opts.PurgeEvery = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	db, d, err := connectMigrated(ctx, opts)
	if err != nil {
		return nil, err
	}
	s := &Store{opts: opts, db: db, d: d, blobs: sqlBlobs{db: db, d: d}}
	if d.name == sqlite.name {
		s.blobs = fileBlobs{dir: filepath.Join(opts.Dir, "messages")}
	}
	return s, nil
}

// connectMigrated opens the backend opts names with its schema current:
// it applies the pending migrations, or with opts.ReadOnly checks that
// there are none (ErrSchemaBehind) and changes nothing.
func connectMigrated(ctx context.Context, opts Options) (*sql.DB, dialect, error) {
	db, d, err := connect(ctx, opts, opts.ReadOnly)
	if err != nil {
		return nil, dialect{}, err
	}
	if opts.ReadOnly {
		err = checkCurrent(ctx, db, d)
	} else {
		var done []Migration
		done, err = migrate(ctx, db, d, now(opts))
		logApplied(opts.Log, done)
	}
	if err != nil {
		db.Close()
		return nil, dialect{}, err
	}
	return db, d, nil
}

// connect opens the backend opts names. Unless readOnly, it makes the
// SQLite folder and file; readOnly opens an existing SQLite file only
// (ErrNoStore when there is none) and never writes to it.
func connect(ctx context.Context, opts Options, readOnly bool) (*sql.DB, dialect, error) {
	b := opts.Backend
	if b == "sqlite" || b == "" {
		return connectSQLite(ctx, opts.Dir, readOnly)
	}
	if !strings.HasPrefix(b, "postgres://") && !strings.HasPrefix(b, "postgresql://") {
		return nil, dialect{}, errors.New("store: unknown backend (want sqlite or a postgres:// URL)")
	}
	if readOnly {
		b = withReadOnlySessions(b)
	}
	db, err := sql.Open("pgx", withConnectTimeout(b))
	if err != nil {
		return nil, dialect{}, fmt.Errorf("store: postgres: %w", err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, dialect{}, fmt.Errorf("store: postgres: %w", err)
	}
	db.SetMaxOpenConns(cmp.Or(opts.MaxOpenConns, 20))
	db.SetMaxIdleConns(cmp.Or(opts.MaxIdleConns, 5))
	db.SetConnMaxLifetime(cmp.Or(opts.ConnMaxLifetime, 30*time.Minute))
	db.SetConnMaxIdleTime(cmp.Or(opts.ConnMaxIdleTime, 5*time.Minute))
	return db, postgres, nil
}

// defaultConnectTimeout bounds a new connection to PostgreSQL unless the
// URL sets connect_timeout: a database that is down or unreachable is an
// error within seconds (the SMTP side answers 4xx), not a hang.
const defaultConnectTimeout = "5"

// withConnectTimeout adds connect_timeout to a postgres:// URL without one.
func withConnectTimeout(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return s // pgx reports it
	}
	q := u.Query()
	if q.Get("connect_timeout") != "" {
		return s
	}
	q.Set("connect_timeout", defaultConnectTimeout)
	u.RawQuery = q.Encode()
	return u.String()
}

// withReadOnlySessions makes every session of a postgres:// URL refuse
// writes (default_transaction_read_only), so a read-only open cannot
// change the shared database even by mistake.
func withReadOnlySessions(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return s // pgx reports it
	}
	q := u.Query()
	q.Set("default_transaction_read_only", "on")
	u.RawQuery = q.Encode()
	return u.String()
}

// sqliteFile is the database file of the SQLite backend in its folder.
const sqliteFile = "portal.db"

func connectSQLite(ctx context.Context, dir string, readOnly bool) (*sql.DB, dialect, error) {
	if dir == "" {
		return nil, dialect{}, errors.New("store: sqlite needs a data folder")
	}
	path := filepath.Join(dir, sqliteFile)
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)"
	if readOnly {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, dialect{}, ErrNoStore
		}
		dsn += "&mode=ro"
	} else {
		if err := os.MkdirAll(filepath.Join(dir, "messages"), 0o700); err != nil {
			return nil, dialect{}, fmt.Errorf("store: %w", err)
		}
		dsn += "&_pragma=journal_mode(WAL)&_pragma=secure_delete(on)&_txlock=immediate"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, dialect{}, fmt.Errorf("store: sqlite: %w", err)
	}
	db.SetMaxOpenConns(1) // one writer; the portal is not a hot path
	if err := pingSQLite(ctx, db); err != nil {
		db.Close()
		return nil, dialect{}, fmt.Errorf("store: sqlite: %w", err)
	}
	if !readOnly {
		os.Chmod(path, 0o600)
	}
	return db, sqlite, nil
}

// sqliteOpenWait bounds how long opening waits for another process that
// holds the database file's lock, as busy_timeout does for statements.
const sqliteOpenWait = 10 * time.Second

// pingSQLite opens the first connection, which applies the DSN's pragmas.
// Switching a new file to WAL needs the file's exclusive lock, and SQLite
// answers SQLITE_BUSY there at once, without its busy handler, when
// another process (the gateway and a command, or nodes started together
// on one folder) is opening the same file; such an open is tried again
// until sqliteOpenWait has passed.
func pingSQLite(ctx context.Context, db *sql.DB) error {
	deadline := time.Now().Add(sqliteOpenWait)
	for pause := 5 * time.Millisecond; ; pause = min(2*pause, 200*time.Millisecond) {
		err := db.PingContext(ctx)
		var se *sqlitedrv.Error
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != sqliteBusy || time.Now().Add(pause).After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(pause):
		}
	}
}

// sqliteBusy is SQLite's primary result code SQLITE_BUSY.
const sqliteBusy = 5

// Start runs the expiry loop until ctx ends or Close is called.
func (s *Store) Start(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.purger != nil {
		return
	}
	s.purger = periodic.Start(ctx, s.opts.PurgeEvery, true, func(ctx context.Context, _ time.Time) { s.purgeOnce(ctx) })
}

// purgeOnce removes expired messages and sweeps the rate-limit windows.
func (s *Store) purgeOnce(ctx context.Context) {
	if n, err := s.Purge(ctx); err != nil && ctx.Err() == nil {
		s.opts.Log.Warn("portal purge failed", slog.String("error", err.Error()))
	} else if n > 0 {
		s.opts.Log.Info("portal messages expired", slog.Int("count", n))
	}
	if _, err := s.SweepLimits(ctx); err != nil && ctx.Err() == nil {
		s.opts.Log.Warn("portal rate-limit sweep failed", slog.String("error_type", "store"))
	}
}

// Close stops the expiry loop (waiting at most until ctx ends) and closes
// the database.
func (s *Store) Close(ctx context.Context) error {
	s.mu.Lock()
	purger := s.purger
	s.mu.Unlock()
	if purger != nil {
		purger.Cancel()
		select {
		case <-purger.Done():
		case <-ctx.Done():
		}
	}
	return s.db.Close()
}

func (s *Store) now() time.Time { return s.opts.Now() }

// DB returns the store's database for packages with tables of their own
// in it (the API's keys); Close closes it.
func (s *Store) DB() *DB { return &DB{db: s.db, d: s.d} }

// exec runs a statement written with ? placeholders.
func (s *Store) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return s.db.ExecContext(ctx, s.d.rebind(q), args...)
}

func (s *Store) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return s.db.QueryRowContext(ctx, s.d.rebind(q), args...)
}
