package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sealgate/sealgate/store"
)

// Store keeps what the API must remember across restarts, in the shared
// store (package store: SQLite in the data folder, or the PostgreSQL that
// several nodes share): API keys (only their SHA-256), the
// Idempotency-Key of each accepted request, and each API message's
// per-recipient status. The CLI (`sealgate apikey`) and every running
// gateway share it; a new or revoked key counts at once, on every node.
// The tables are the store's migration 3 ("api").
type Store struct {
	db *store.DB
}

// keyPrefix starts every API key, so a leaked one is recognisable in a
// secret scanner's rules.
const keyPrefix = "sgk_"

// NewStore keeps the API's state in db, which the caller opened (and
// closes).
func NewStore(db *store.DB) *Store { return &Store{db: db} }

func hashKey(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

// NewKey makes a key for client and stores only its hash. The key is
// returned once; it cannot be recovered later.
func (s *Store) NewKey(ctx context.Context, client string) (id, key string, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", err
	}
	var idb [6]byte
	rand.Read(idb[:])
	id = hex.EncodeToString(idb[:])
	key = keyPrefix + id + "_" + base64.RawURLEncoding.EncodeToString(b[:])
	_, err = s.db.Exec(ctx, `INSERT INTO api_keys (id, client, hash, created) VALUES (?, ?, ?, ?)`,
		id, client, hashKey(key), time.Now().Unix())
	return id, key, err
}

// Client returns the client a live key belongs to, and the key's ID.
func (s *Store) Client(ctx context.Context, key string) (client, id string, err error) {
	if !strings.HasPrefix(key, keyPrefix) {
		return "", "", ErrUnknownKey
	}
	err = s.db.QueryRow(ctx, `SELECT client, id FROM api_keys WHERE hash = ? AND revoked = 0`,
		hashKey(key)).Scan(&client, &id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", ErrUnknownKey
	}
	return client, id, err
}

// ErrUnknownKey is a key that is not stored or was revoked.
var ErrUnknownKey = errors.New("api: unknown or revoked key")

// KeyInfo describes a stored key (never the key).
type KeyInfo struct {
	ID      string    `json:"id"`
	Client  string    `json:"client"`
	Created time.Time `json:"created"`
	Revoked bool      `json:"revoked"`
}

// Keys lists the stored keys.
func (s *Store) Keys(ctx context.Context) ([]KeyInfo, error) {
	rows, err := s.db.Query(ctx, `SELECT id, client, created, revoked FROM api_keys ORDER BY created, id`)
	if err != nil {
		return nil, err
	}
	return scanKeys(rows)
}

// scanKeys reads id, client, created, revoked rows, of the store or of
// an old file, and closes them.
func scanKeys(rows *sql.Rows) ([]KeyInfo, error) {
	defer rows.Close()
	var out []KeyInfo
	for rows.Next() {
		var k KeyInfo
		var created int64
		if err := rows.Scan(&k.ID, &k.Client, &created, &k.Revoked); err != nil {
			return nil, err
		}
		k.Created = time.Unix(created, 0).UTC()
		out = append(out, k)
	}
	return out, rows.Err()
}

// Revoke makes a key unusable.
func (s *Store) Revoke(ctx context.Context, id string) error {
	r, err := s.db.Exec(ctx, `UPDATE api_keys SET revoked = 1 WHERE id = ?`, id)
	if err != nil {
		return err
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return fmt.Errorf("api: no key %q", id)
	}
	return nil
}

// idem is a stored Idempotency-Key.
type idem struct {
	BodyHash string
	QueueID  string
	Done     bool
}

// reserve records key for client with the queue ID the request will get,
// unless the key is stored already: then it returns what is stored. The
// insert that does nothing on a conflict makes two nodes racing with one
// key agree on the first.
func (s *Store) reserve(ctx context.Context, client, key, bodyHash, queueID string) (idem, bool, error) {
	r, err := s.db.Exec(ctx, `INSERT INTO api_idempotency (client, key, body_hash, queue_id, created) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (client, key) DO NOTHING`, client, key, bodyHash, queueID, time.Now().Unix())
	if err != nil {
		return idem{}, false, err
	}
	if n, err := r.RowsAffected(); err != nil || n == 1 {
		return idem{BodyHash: bodyHash, QueueID: queueID}, false, err
	}
	var got idem
	err = s.db.QueryRow(ctx, `SELECT body_hash, queue_id, done FROM api_idempotency WHERE client = ? AND key = ?`,
		client, key).Scan(&got.BodyHash, &got.QueueID, &got.Done)
	return got, err == nil, err
}

// accepted marks an Idempotency-Key's message queued and records its
// recipients as queued, in one transaction.
func (s *Store) accepted(ctx context.Context, client, key, queueID string, rcpts []string) error {
	now := time.Now().Unix()
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		if key != "" {
			if _, err := tx.Exec(ctx, `UPDATE api_idempotency SET done = 1 WHERE client = ? AND key = ?`, client, key); err != nil {
				return err
			}
		}
		for i, r := range rcpts {
			if _, err := tx.Exec(ctx, `INSERT INTO api_recipients (queue_id, client, rcpt, seq, status, submitted, updated) VALUES (?, ?, ?, ?, 'queued', ?, ?)
				ON CONFLICT (queue_id, seq) DO NOTHING`, queueID, client, r, i, now, now); err != nil {
				return err
			}
		}
		return nil
	})
}

// forget drops a reservation whose message was refused, so the client
// may try again with the same key once it has fixed the request.
func (s *Store) forget(ctx context.Context, client, key string) error {
	_, err := s.db.Exec(ctx, `DELETE FROM api_idempotency WHERE client = ? AND key = ? AND done = 0`, client, key)
	return err
}

// RecipientStatus is one recipient's state as GET /v1/messages/{id} shows it.
type RecipientStatus struct {
	Address      string    `json:"address"`
	Status       string    `json:"status"` // queued, delivered, deferred, bounced
	Attempts     int       `json:"attempts"`
	Code         int       `json:"code,omitempty"`
	EnhancedCode string    `json:"enhanced_code,omitempty"`
	Updated      time.Time `json:"updated"`
}

// status returns the recipients of an API message of client, or nil.
func (s *Store) status(ctx context.Context, client, queueID string) ([]RecipientStatus, time.Time, error) {
	rows, err := s.db.Query(ctx, `SELECT rcpt, status, attempts, code, enhanced, submitted, updated
		FROM api_recipients WHERE queue_id = ? AND client = ? ORDER BY seq`, queueID, client)
	if err != nil {
		return nil, time.Time{}, err
	}
	defer rows.Close()
	var out []RecipientStatus
	var submitted int64
	for rows.Next() {
		var r RecipientStatus
		var updated int64
		if err := rows.Scan(&r.Address, &r.Status, &r.Attempts, &r.Code, &r.EnhancedCode, &submitted, &updated); err != nil {
			return nil, time.Time{}, err
		}
		r.Updated = time.Unix(updated, 0).UTC()
		out = append(out, r)
	}
	return out, time.Unix(submitted, 0).UTC(), rows.Err()
}

// update records delivery attempts' results for recipients of API
// messages, in one transaction; other messages have no rows and are not
// touched. A final state (delivered, bounced) is not changed again.
func (s *Store) update(ctx context.Context, batch []update) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		for _, u := range batch {
			if _, err := tx.Exec(ctx, `UPDATE api_recipients SET status = ?, attempts = ?, code = ?, enhanced = ?, updated = ?
				WHERE queue_id = ? AND rcpt = ? AND status != 'delivered' AND status != 'bounced'`,
				u.status, u.attempts, u.code, u.enhanced, u.at.Unix(), u.queueID, u.rcpt); err != nil {
				return err
			}
		}
		return nil
	})
}

// Purge drops idempotency keys and recipient states older than age.
func (s *Store) Purge(ctx context.Context, age time.Duration) error {
	cut := time.Now().Add(-age).Unix()
	if _, err := s.db.Exec(ctx, `DELETE FROM api_idempotency WHERE created < ?`, cut); err != nil {
		return err
	}
	_, err := s.db.Exec(ctx, `DELETE FROM api_recipients WHERE updated < ?`, cut)
	return err
}
