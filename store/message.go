package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/sealgate/sealgate/portal/keywrap"
)

// Item is one message for one recipient, as the encryptor hands it over.
type Item struct {
	// ID names the message for operators and the audit log; a random ID is
	// assigned when empty. Letters, digits, '.', '_' and '-', at most 64.
	ID        string
	Sender    string // the original sender; replies go there
	Recipient string // the address that proves itself with a code
	Content   Content
	// Expires is when the message is deleted; zero means now + the TTL.
	Expires time.Time
}

// Content is what the recipient reads; it exists only encrypted at rest.
type Content struct {
	Subject     string       `json:"subject"`
	Text        string       `json:"text,omitempty"`
	HTML        string       `json:"html,omitempty"`
	Attachments []Attachment `json:"attachments,omitempty"`
	// Raw is the original RFC 5322 message, when the store got one.
	Raw []byte `json:"raw,omitempty"`
}

// Attachment is one file of a message.
type Attachment struct {
	Name string `json:"name"`
	Type string `json:"type"` // MIME type, e.g. "application/pdf"
	Data []byte `json:"data"`
}

// Meta is what the store knows about a message without opening it.
type Meta struct {
	ID, Sender, Recipient string
	Size                  int64 // encrypted content size in bytes
	Attachments           int
	Created, Expires      time.Time
	Revoked, Deleted      time.Time // zero when not
	Views                 int
}

// Live reports whether the message can still be read at t.
func (m Meta) Live(t time.Time) bool {
	return m.Revoked.IsZero() && m.Deleted.IsZero() && t.Before(m.Expires)
}

var idRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// Put encrypts a message and stores it; it returns the link token for the
// notification (256 random bits, base64url), which is stored only hashed.
func (s *Store) Put(ctx context.Context, it Item) (token string, err error) {
	if it.ID == "" {
		it.ID = newID()
	}
	if !idRE.MatchString(it.ID) || it.ID[0] == '.' {
		return "", errors.New("portal store: bad message ID")
	}
	plain, err := json.Marshal(it.Content)
	if err != nil {
		return "", fmt.Errorf("portal store: %w", err)
	}
	key, wrapped := s.opts.Master.NewMessageKey(it.ID)
	ciphertext, err := keywrap.EncryptContent(key, it.ID, plain)
	if err != nil {
		return "", err
	}
	if err := s.blobs.put(ctx, it.ID, ciphertext); err != nil {
		return "", fmt.Errorf("portal store: write encrypted message: %w", err)
	}
	token = newToken()
	if err := s.insert(ctx, it, wrapped, int64(len(ciphertext)), token); err != nil {
		s.blobs.remove(ctx, it.ID)
		return "", err
	}
	s.Record(ctx, Event{MessageID: it.ID, Kind: EventCreated, Actor: it.Sender})
	return token, nil
}

func (s *Store) insert(ctx context.Context, it Item, wrapped []byte, size int64, token string) error {
	now := s.now()
	exp := it.Expires
	if exp.IsZero() {
		exp = now.Add(s.opts.TTL)
	}
	_, err := s.exec(ctx, `INSERT INTO portal_messages
		(id, token_hash, sender, recipient, wrapped_key, size, attachments, created, expires)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		it.ID, TokenHash(token), it.Sender, it.Recipient, wrapped, size,
		len(it.Content.Attachments), now.UnixMilli(), exp.UnixMilli())
	if err != nil {
		return fmt.Errorf("portal store: insert: %w", err)
	}
	return nil
}

// TokenHash is how a link token is stored.
func TokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

func newToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func newID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return "pm-" + hex.EncodeToString(b)
}

const metaCols = `id, sender, recipient, size, attachments, created, expires, revoked, deleted, views`

func scanMeta(row interface{ Scan(...any) error }) (Meta, error) {
	var m Meta
	var created, expires, revoked, deleted int64
	err := row.Scan(&m.ID, &m.Sender, &m.Recipient, &m.Size, &m.Attachments,
		&created, &expires, &revoked, &deleted, &m.Views)
	if errors.Is(err, sql.ErrNoRows) {
		return m, ErrNotFound
	}
	if err != nil {
		return m, fmt.Errorf("portal store: %w", err)
	}
	m.Created, m.Expires = time.UnixMilli(created), time.UnixMilli(expires)
	m.Revoked, m.Deleted = msTime(revoked), msTime(deleted)
	return m, nil
}

func msTime(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// Lookup finds the message a link token belongs to.
func (s *Store) Lookup(ctx context.Context, token string) (Meta, error) {
	return scanMeta(s.queryRow(ctx, `SELECT `+metaCols+` FROM portal_messages WHERE token_hash = ?`, TokenHash(token)))
}

// Get returns a message's metadata by ID.
func (s *Store) Get(ctx context.Context, id string) (Meta, error) {
	return scanMeta(s.queryRow(ctx, `SELECT `+metaCols+` FROM portal_messages WHERE id = ?`, id))
}

// List returns every message, newest first, including revoked and
// expired ones (whose content is gone).
func (s *Store) List(ctx context.Context) ([]Meta, error) {
	out, err := queryAll(ctx, s.db, s.d, scanMeta, `SELECT `+metaCols+` FROM portal_messages ORDER BY created DESC, id`)
	if err != nil {
		return nil, fmt.Errorf("portal store: %w", err)
	}
	return out, nil
}

// Count returns the number of messages that can still be read.
func (s *Store) Count(ctx context.Context) (int, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM portal_messages WHERE revoked = 0 AND deleted = 0 AND expires > ?`,
		s.now().UnixMilli()).Scan(&n)
	return n, err
}
