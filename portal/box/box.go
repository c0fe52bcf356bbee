// Package box lets the encryption layer leave messages in the portal's
// store: Store implements encrypt/portalbox.Store on top of portal/store,
// turning the complete message the encryptor hands over into what the
// pickup page shows (subject, text, HTML, attachments).
package box

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/sealgate/sealgate/encrypt/portalbox"
	"github.com/sealgate/sealgate/store"
)

// Store is a portalbox.Store backed by a portal store. It does not own the
// portal store: Close does nothing, the gateway closes the store.Store.
type Store struct{ st *store.Store }

var _ portalbox.Store = (*Store)(nil)

// New adapts st.
func New(st *store.Store) *Store { return &Store{st: st} }

var unsafeID = regexp.MustCompile(`[^A-Za-z0-9_-]`)

// MessageID is the portal ID of a queue ID's copy for one recipient: the
// queue ID and a short hash of the address, so operators see which queued
// message it came from without the address appearing in the ID.
func MessageID(queueID, recipient string) string {
	h := sha256.Sum256([]byte(strings.ToLower(recipient)))
	q := unsafeID.ReplaceAllString(queueID, "_")
	if len(q) > 40 {
		q = q[:40]
	}
	return q + "." + hex.EncodeToString(h[:6])
}

// Put parses and stores the message, replacing an earlier copy for the
// same queue ID and recipient (whose link stops working).
func (b *Store) Put(ctx context.Context, it portalbox.Item) (string, error) {
	if it.Expires.IsZero() {
		return "", errors.New("portal box: item without expiry")
	}
	c, err := Parse(it.Message)
	if err != nil {
		return "", err
	}
	id := MessageID(it.QueueID, it.Recipient)
	if err := b.st.Remove(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("portal box: replace: %w", err)
	}
	return b.st.Put(ctx, store.Item{ID: id, Sender: it.Sender, Recipient: it.Recipient, Content: c, Expires: it.Expires})
}

// Get returns the live item for token, or portalbox.ErrNotFound.
func (b *Store) Get(ctx context.Context, token string) (*portalbox.Item, error) {
	m, err := b.st.Lookup(ctx, token)
	if err != nil {
		return nil, notFound(err)
	}
	c, err := b.st.Open(ctx, m.ID)
	if err != nil {
		return nil, notFound(err)
	}
	q, _, _ := strings.Cut(m.ID, ".")
	return &portalbox.Item{QueueID: q, Recipient: m.Recipient, Sender: m.Sender, Message: c.Raw,
		Created: m.Created, Expires: m.Expires}, nil
}

// Delete destroys the item for token (for example after the notification
// bounced).
func (b *Store) Delete(ctx context.Context, token string) error {
	m, err := b.st.Lookup(ctx, token)
	if err != nil {
		return notFound(err)
	}
	return notFound(b.st.Delete(ctx, m.ID, "gateway"))
}

// Purge deletes expired items. The portal store's own clock decides what
// has expired; now is accepted for the interface.
func (b *Store) Purge(ctx context.Context, _ time.Time) (int, error) { return b.st.Purge(ctx) }

// Close does nothing; the portal store is closed by its owner.
func (b *Store) Close() error { return nil }

func notFound(err error) error {
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrGone) {
		return portalbox.ErrNotFound
	}
	return err
}
