// Package portalbox is where sealgate leaves a message for pickup through
// the portal when no other protection is possible for a recipient. The
// Store interface is what the encryption layer needs and what the portal
// implements (portal/box over the portal's SQLite or PostgreSQL store).
//
// A message is found by a token that is handed out once, by Put, and that
// the store keeps only as a SHA-256 hash: whoever reads the store cannot
// rebuild the links in notifications.
package portalbox

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound means no live item matches the token: it never existed, was
// deleted, or has expired. It carries no token or address.
var ErrNotFound = errors.New("portalbox: no such message")

// Item is one message left for one recipient.
type Item struct {
	// QueueID is the spool ID of the message (for audit and revocation).
	QueueID string
	// Recipient is the address the message is for; the portal proves
	// control of it before showing anything.
	Recipient string
	// Sender is the envelope sender, "" for a bounce.
	Sender string
	// Message is the complete original message (RFC 5322, CRLF).
	Message []byte
	// Created is when the item was stored; Put sets it when zero.
	Created time.Time
	// Expires is when the item stops being available; required.
	Expires time.Time
}

// Store keeps items for pickup. Implementations must be safe for concurrent
// use. Put replaces an earlier item with the same QueueID and Recipient (a
// retried hand-off leaves one live item, reachable only by the new token).
type Store interface {
	// Put stores it, encrypted, and returns the token that finds it again.
	Put(ctx context.Context, it Item) (token string, err error)
	// Get returns the item for token, or ErrNotFound.
	Get(ctx context.Context, token string) (*Item, error)
	// Delete removes the item for token and its encrypted content, or returns
	// ErrNotFound.
	Delete(ctx context.Context, token string) error
	// Purge deletes every item that has expired at now and returns how many.
	Purge(ctx context.Context, now time.Time) (int, error)
	// Close releases the store.
	Close() error
}
