package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sealgate/sealgate/portal/keywrap"
)

// Open decrypts a live message's content. It returns
// ErrGone for revoked, expired or deleted messages.
func (s *Store) Open(ctx context.Context, id string) (Content, error) {
	var c Content
	var wrapped []byte
	var revoked, deleted, expires int64
	err := s.queryRow(ctx, `SELECT wrapped_key, revoked, deleted, expires FROM portal_messages WHERE id = ?`, id).
		Scan(&wrapped, &revoked, &deleted, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("portal store: %w", err)
	}
	if revoked != 0 || deleted != 0 || expires <= s.now().UnixMilli() || wrapped == nil {
		return c, ErrGone
	}
	key, err := s.opts.Master.Unwrap(id, wrapped)
	if err != nil {
		return c, fmt.Errorf("portal store: message key: %w", err)
	}
	ciphertext, err := s.blobs.get(ctx, id)
	if err != nil {
		return c, err
	}
	plain, err := keywrap.DecryptContent(key, id, ciphertext)
	if err != nil {
		return c, fmt.Errorf("portal store: message content: %w", err)
	}
	if err := json.Unmarshal(plain, &c); err != nil {
		return c, fmt.Errorf("portal store: message content: %w", err)
	}
	return c, nil
}

// CountView adds one to a message's view counter.
func (s *Store) CountView(ctx context.Context, id string) error {
	_, err := s.exec(ctx, `UPDATE portal_messages SET views = views + 1 WHERE id = ?`, id)
	return err
}

// Revoke makes a message unreadable at once: its key and encrypted content are
// destroyed and the event audited with actor (an operator name).
func (s *Store) Revoke(ctx context.Context, id, actor string) error {
	res, err := s.exec(ctx, `UPDATE portal_messages SET revoked = ? WHERE id = ? AND revoked = 0 AND deleted = 0`,
		s.now().UnixMilli(), id)
	if err != nil {
		return fmt.Errorf("portal store: revoke: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.Get(ctx, id); err != nil {
			return err
		}
		return ErrGone
	}
	s.Record(ctx, Event{MessageID: id, Kind: EventRevoke, Actor: actor})
	return s.destroy(ctx, id)
}

// Delete destroys a message's content at once, like Revoke, for the
// gateway (for example when its notification bounced).
func (s *Store) Delete(ctx context.Context, id, actor string) error {
	if _, err := s.Get(ctx, id); err != nil {
		return err
	}
	if err := s.destroy(ctx, id); err != nil {
		return err
	}
	return s.Record(ctx, Event{MessageID: id, Kind: EventDelete, Actor: actor})
}

// Remove destroys a message and forgets its metadata and link, so the ID
// can be used again (a retried hand-off). The audit trail stays.
func (s *Store) Remove(ctx context.Context, id string) error {
	if _, err := s.Get(ctx, id); err != nil {
		return err
	}
	if err := s.destroy(ctx, id); err != nil {
		return err
	}
	if _, err := s.exec(ctx, `DELETE FROM portal_messages WHERE id = ?`, id); err != nil {
		return fmt.Errorf("portal store: remove: %w", err)
	}
	return s.Record(ctx, Event{MessageID: id, Kind: EventReplaced, Actor: "gateway"})
}

// destroy removes the encrypted content and the wrapped key and marks the
// message deleted.
func (s *Store) destroy(ctx context.Context, id string) error {
	if err := s.blobs.remove(ctx, id); err != nil {
		return err
	}
	_, err := s.exec(ctx, `UPDATE portal_messages SET wrapped_key = NULL, code_hash = NULL, deleted = ? WHERE id = ?`,
		s.now().UnixMilli(), id)
	if err != nil {
		return fmt.Errorf("portal store: delete: %w", err)
	}
	return nil
}

// Purge destroys every expired message that still has content, audits
// each expiry, and returns how many it removed.
func (s *Store) Purge(ctx context.Context) (int, error) {
	ids, err := s.expired(ctx)
	if err != nil {
		return 0, err
	}
	var errs []error
	for _, id := range ids {
		if err := s.destroy(ctx, id); err != nil {
			errs = append(errs, err)
			continue
		}
		s.Record(ctx, Event{MessageID: id, Kind: EventExpire, Actor: "system"})
	}
	return len(ids) - len(errs), errors.Join(errs...)
}

func (s *Store) expired(ctx context.Context) ([]string, error) {
	ids, err := queryAll(ctx, s.db, s.d, scanString, `SELECT id FROM portal_messages WHERE deleted = 0 AND expires <= ?`,
		s.now().UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("portal store: purge: %w", err)
	}
	return ids, nil
}
