// Package evidence joins what sealgate recorded about a message into one
// record per recipient, for an auditor: who submitted it (client, address,
// sender), what the policy found (detector names and counts, never values)
// and which rules matched, how the recipient was protected and why, every
// delivery attempt with its transport (TLS version, cipher, how the next
// hop was authenticated, reply code), the final result, operator actions,
// and what the recipient did on the pickup portal.
//
// Records are read from the hash-chained audit log (package audit), whose
// chain is verified while it is read, and from the portal's own event
// record through the Portal interface, which the wiring implements over
// the portal store. The package reads; it never writes a log or a store.
package evidence

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/sealgate/sealgate/audit"
	"github.com/sealgate/sealgate/mail"
)

// Record is the evidence for one recipient of one message.
type Record struct {
	QueueID   string `json:"queue_id"`
	Recipient string `json:"recipient"`
	// Accepted is when the message was answered 250 (or, for mail
	// sealgate wrote itself, entered the spool); zero when the log given
	// does not reach back to it.
	Accepted   time.Time `json:"accepted"`
	Client     string    `json:"client"`
	ClientAddr string    `json:"client_addr"`
	Sender     string    `json:"sender"`
	// Origin names what in sealgate wrote the message (a portal code or
	// reply, a TLS report); "" for a client's mail.
	Origin string `json:"origin,omitempty"`
	Policy Policy `json:"policy"`
	// Method is how the recipient was protected (pgp, smime, tls, portal,
	// consent, none) at the last attempt that chose one, and MethodReason why.
	Method       string `json:"method"`
	MethodReason string `json:"method_reason"`
	// Consent is the patient consent that let PHI leave without message
	// encryption (method consent): the consent register's ID, when the
	// patient consented and through which channel; null when none applied.
	Consent *mail.ConsentBasis `json:"consent"`
	// Encryption is the content protection of a pgp or smime copy.
	Encryption string    `json:"encryption"`
	Attempts   []Attempt `json:"attempts"`
	// Result is delivered, bounced, expired (failed with 4.4.7 after the
	// queue's maximum age, a bounce too), pending (the last attempt was
	// deferred), queued (no attempt yet), held (quarantined) or deleted
	// (by an operator); ResultAt is when it became so.
	Result   string    `json:"result"`
	ResultAt time.Time `json:"result_at"`
	// Notice is the portal notification's own delivery, for a recipient
	// the portal protected: a message of its own, spooled when the copy
	// was stored; nil for other methods.
	Notice   *Notice       `json:"notice"`
	Portal   []PortalEvent `json:"portal"`
	Operator []Operator    `json:"operator"`
	// Verified says every audit record behind this one is covered by a
	// signed checkpoint; false when some are after the last checkpoint
	// (not yet signed: anyone could have appended them) or from before
	// the log had a hash chain. AuditSeqs names those records.
	Verified  bool     `json:"verified"`
	AuditSeqs []uint64 `json:"audit_seqs"`
}

// Policy is the policy verdict as the audit log recorded it.
type Policy struct {
	PHI    bool   `json:"phi"`
	Action string `json:"action"`
	// ForcedMethod is a method a rule asked for; DecidingRule the rule
	// that decided; Rules every rule that matched, in order.
	ForcedMethod string   `json:"forced_method,omitempty"`
	DecidingRule string   `json:"deciding_rule,omitempty"`
	Rules        []string `json:"rules"`
	Reasons      []Reason `json:"reasons"`
}

// Reason is a detector and how many matches it found (never what).
type Reason struct {
	Detector string `json:"detector"`
	Count    int    `json:"count"`
}

// Attempt is one delivery attempt for the recipient.
type Attempt struct {
	Time    time.Time `json:"time"`
	Attempt int       `json:"attempt"`
	// Result is delivered, deferred or bounced.
	Result       string             `json:"result"`
	Method       string             `json:"method,omitempty"`
	MethodReason string             `json:"method_reason,omitempty"`
	Encryption   string             `json:"encryption,omitempty"`
	Consent      *mail.ConsentBasis `json:"consent,omitempty"`
	// Notice is the queue ID of the portal notification this attempt
	// spooled.
	Notice   string `json:"notice,omitempty"`
	Code     int    `json:"code,omitempty"`
	Enhanced string `json:"enhanced,omitempty"`
	// RemoteText is the reply's text with addresses, quoted passages and
	// numbers stripped.
	RemoteText string `json:"remote_text,omitempty"`
	RemoteMTA  string `json:"remote_mta,omitempty"`
	TLSVersion string `json:"tls_version,omitempty"`
	TLSCipher  string `json:"tls_cipher,omitempty"`
	// PeerAuth is how the next hop was authenticated: dane, mta-sts,
	// pinned (end to end), pkix (a valid certificate for a name from DNS
	// that may be forged: opportunistic), none; "" when no connection was
	// made.
	PeerAuth string `json:"peer_auth,omitempty"`
}

// Notice is the delivery of a portal notification.
type Notice struct {
	QueueID  string    `json:"queue_id"`
	Attempts []Attempt `json:"attempts"`
	// Result is delivered, bounced, pending or queued, as for a record.
	Result   string    `json:"result"`
	ResultAt time.Time `json:"result_at"`
}

// PortalEvent is one thing that happened to the recipient's copy on the
// pickup portal: notice_sent or notice_bounced (from the audit log: the
// notification's delivery), and from the portal's record stored, code_sent,
// code_failed, locked, signed_in, factor_failed, opened, downloaded,
// replied, revoked, expired, deleted, replaced.
type PortalEvent struct {
	Time  time.Time `json:"time"`
	Event string    `json:"event"`
	// Actor is the recipient's address, an operator, or "system"; Remote
	// the address the request came from; Detail names an attachment by
	// its index or a failed factor, never content.
	Actor  string `json:"actor,omitempty"`
	Remote string `json:"remote,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// Operator is an operator's action on the message (release, delete,
// retry, show-content), from the audit log.
type Operator struct {
	Time     time.Time `json:"time"`
	Action   string    `json:"action"`
	Operator string    `json:"operator"`
	Result   string    `json:"result"`
}

// Portal reads the portal's record of one recipient's copy of a message.
// Events returns it with Event set to the portal store's own kind
// (created, view, download…); Read puts it in the evidence's words
// (stored, opened, downloaded…).
type Portal interface {
	Events(ctx context.Context, queueID, recipient string) ([]PortalEvent, error)
}

// Query says what to read and which records to return.
type Query struct {
	// Files is the audit log, oldest file first (audit.Series).
	Files []string
	// Key verifies the checkpoints.
	Key ed25519.PublicKey
	// Portal reads portal events; nil when there is no portal store, in
	// which case a record protected by the portal is an error.
	Portal Portal
	// Since keeps records with any event at or after it (zero: all).
	Since time.Time
	// Recipient and QueueID keep only that recipient (any case) or
	// message; "" keeps all.
	Recipient, QueueID string
}

// ErrNoPortal is returned when a record's recipient was sent to the
// portal and no portal store can be read: the record would be incomplete.
var ErrNoPortal = errors.New("evidence: a recipient went to the portal, and there is no portal store to read its events from")

// Read verifies the audit log and builds the records the query asks for,
// oldest message first. The report says how far the chain verified; when
// it is broken, no record is returned: what follows an edit cannot be
// told apart from what was written, so none of it is evidence.
func Read(ctx context.Context, q Query) ([]Record, audit.Report, error) {
	j := newJoin()
	rep, err := audit.Scan(q.Files, q.Key, j.add)
	if err != nil {
		return nil, rep, err
	}
	if rep.Broken != nil {
		return nil, rep, nil
	}
	var out []Record
	for _, m := range j.msgs {
		if q.QueueID != "" && m.id != q.QueueID {
			continue
		}
		for _, r := range m.records() {
			if !q.wantsRecipient(r.Recipient) {
				continue
			}
			j.finish(r, m, rep.SignedThrough)
			if err := addPortal(ctx, q.Portal, r); err != nil {
				return nil, rep, err
			}
			if q.Since.IsZero() || r.latest().Compare(q.Since) >= 0 {
				out = append(out, *r)
			}
		}
	}
	return out, rep, nil
}

// addPortal adds the portal's events for a recipient any attempt sent to
// the portal.
func addPortal(ctx context.Context, p Portal, r *Record) error {
	used := false
	for _, a := range r.Attempts {
		used = used || a.Method == "portal"
	}
	if !used {
		return nil
	}
	if p == nil {
		return ErrNoPortal
	}
	evs, err := p.Events(ctx, r.QueueID, r.Recipient)
	if err != nil {
		return fmt.Errorf("evidence: portal events of %s: %w", r.QueueID, err)
	}
	for _, e := range evs {
		e.Event = portalEventName(e.Event)
		r.Portal = append(r.Portal, e)
	}
	sortPortal(r.Portal)
	return nil
}
