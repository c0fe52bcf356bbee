package store

import (
	"context"
	"fmt"
	"time"
)

// Audit event kinds.
const (
	EventCreated    = "created"       // the encryptor stored the message
	EventCodeSent   = "code_sent"     // a one-time code went to the recipient
	EventCodeFailed = "code_failed"   // a wrong or expired code was entered
	EventLocked     = "locked"        // too many failed codes
	EventLogin      = "login"         // the recipient proved the address (and every required factor)
	EventFactorFail = "factor_failed" // a wrong password or authenticator code (Detail: which)
	EventView       = "view"          // the message was shown
	EventDownload   = "download"      // an attachment was downloaded (Detail: its index)
	EventReply      = "reply"         // the recipient sent a secure reply
	EventRevoke     = "revoke"        // an operator revoked the message
	EventExpire     = "expire"        // the message expired and was deleted
	EventDelete     = "delete"        // the gateway deleted the message (its notification bounced)
	EventReplaced   = "replaced"      // a retried hand-off replaced the message and its link
)

// Event is one audit record: who did what to which message, when, and
// from which network address.
type Event struct {
	Seq       int64     `json:"seq"`
	MessageID string    `json:"message_id"`
	At        time.Time `json:"at"`
	Kind      string    `json:"kind"`
	Actor     string    `json:"actor"`            // recipient address, operator, "system"
	Remote    string    `json:"remote,omitempty"` // client IP for portal requests
	Detail    string    `json:"detail,omitempty"` // never message content
}

// Record appends an audit event; At defaults to now.
func (s *Store) Record(ctx context.Context, e Event) error {
	if e.At.IsZero() {
		e.At = s.now()
	}
	_, err := s.exec(ctx, `INSERT INTO portal_audit (message_id, at, kind, actor, remote, detail) VALUES (?, ?, ?, ?, ?, ?)`,
		e.MessageID, e.At.UnixMilli(), e.Kind, e.Actor, e.Remote, e.Detail)
	if err != nil {
		return fmt.Errorf("portal store: audit: %w", err)
	}
	return nil
}

// Audit returns a message's audit events in order.
func (s *Store) Audit(ctx context.Context, id string) ([]Event, error) {
	out, err := queryAll(ctx, s.db, s.d, func(r Row) (e Event, err error) {
		var at int64
		err = r.Scan(&e.Seq, &e.MessageID, &at, &e.Kind, &e.Actor, &e.Remote, &e.Detail)
		e.At = time.UnixMilli(at)
		return e, err
	}, `SELECT seq, message_id, at, kind, actor, remote, detail FROM portal_audit WHERE message_id = ? ORDER BY seq`, id)
	if err != nil {
		return nil, fmt.Errorf("portal store: audit: %w", err)
	}
	return out, nil
}
