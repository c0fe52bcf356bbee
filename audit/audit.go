// Package audit writes sealgate's audit log: one JSON object per line, one
// method per event. It records who sent what to whom and how it was
// protected — queue IDs, addresses, client names, methods, rule and
// detector names — and never a subject, a body or a matched value.
//
// The audit log is a compliance record kept apart from the operational
// log; it holds addresses, so it is written 0600. It is tamper-evident:
// every record carries the SHA-256 hash of the one before it and a
// sequence number, and a checkpoint signed with the gateway's Ed25519
// audit key is written every CheckpointEvery records, every
// CheckpointInterval while records wait, and on Close. Verify checks a
// log (or a rotated series of logs) and names the first broken record.
package audit

import (
	"errors"
	"strings"
	"time"

	"github.com/sealgate/sealgate/mail"
)

// Event is one audit record's fields, as written and as Scan reads them
// back. Seq and Prev are written by the chain (chain.go) in front of these
// fields.
type Event struct {
	Time    time.Time `json:"time"`
	Event   string    `json:"event"`
	QueueID string    `json:"queue_id,omitempty"`
	Client  string    `json:"client,omitempty"`
	Remote  string    `json:"remote,omitempty"`
	From    *string   `json:"from,omitempty"`
	Rcpts   []string  `json:"rcpts,omitempty"`
	Rcpt    string    `json:"rcpt,omitempty"`
	Reason  string    `json:"reason,omitempty"`
	PHI     *bool     `json:"phi,omitempty"`
	Action  string    `json:"action,omitempty"`
	Method  string    `json:"method,omitempty"`
	Rule    string    `json:"rule,omitempty"`
	// Rules names every policy rule that matched, in order (Rule is the
	// one that decided).
	Rules   []string `json:"rules,omitempty"`
	Finds   []string `json:"detectors,omitempty"`
	Result  string   `json:"result,omitempty"`
	Attempt int      `json:"attempt,omitempty"`
	Code    int      `json:"code,omitempty"`
	// Enhanced and RemoteText are the remote reply's enhanced status code
	// and its text with addresses, quoted passages and numbers stripped.
	Enhanced   string `json:"enhanced,omitempty"`
	RemoteText string `json:"remote_text,omitempty"`
	Remote2    string `json:"remote_mta,omitempty"`
	TLS        string `json:"tls,omitempty"`
	Cipher     string `json:"tls_cipher,omitempty"`
	Verify     *bool  `json:"tls_verified,omitempty"`
	// VerifyBy is how the peer was verified: pkix, dane, mta-sts.
	VerifyBy string `json:"tls_verification,omitempty"`
	// PortalID names a portal message in a portal operator action.
	PortalID string `json:"portal_id,omitempty"`
	// Operator is who did an operator action: "uid=0(root) pid=42".
	Operator string `json:"operator,omitempty"`
	// Encryption is the content protection of a pgp or smime copy.
	Encryption string `json:"encryption,omitempty"`
	// Origin names what in sealgate wrote a message (mail.Envelope.Origin):
	// a portal code or reply, a TLS report; absent for a client's mail.
	Origin string `json:"origin,omitempty"`
	// Domain is the sending domain of a suppression-list change.
	Domain string `json:"domain,omitempty"`
	// Consent is the basis of a copy sent unencrypted by the recipient's
	// consent (method consent), or the consent a consent record is about:
	// its ID, time and channel.
	Consent *mail.ConsentBasis `json:"consent,omitempty"`
	// Notice is the queue ID of the portal notification spooled for a
	// recipient the portal protects (mail.Outcome.Notice).
	Notice string `json:"notice,omitempty"`
	// Key and Sig are a checkpoint's signing key (hex Ed25519 public key)
	// and its signature (checkpointMessage).
	Key string `json:"key,omitempty"`
	Sig string `json:"sig,omitempty"`
}

// event is the name the writers use.
type event = Event

var errNoLog = errors.New("audit: no log")

// Operator records an operator's action on the queue, the portal or the
// gateway (release, delete, retry, flush, show-content, reload, revoke,
// purge): who did it — the user the kernel reported on the control
// socket, or the local user who ran the command — and how it ended. It
// returns an error when the record could not be written, so an action
// that must be audited first (showing a held message) is not done.
func (l *Log) Operator(action, id, operator, result string) error {
	e := event{Event: "operator", Action: action, Operator: operator, Result: result}
	if strings.HasPrefix(action, "portal-") {
		e.PortalID = id
	} else {
		e.QueueID = id
	}
	return l.writeErr(e, true)
}

// Suppression records a change of a sending domain's suppression list:
// action is add, remove or import (by an operator, who is named) or
// unsubscribe (by the recipient, one-click; remote is the client's
// address). The record is synced: a change that cannot be audited is
// reported as failed by the caller.
func (l *Log) Suppression(action, domain, address, reason, who, remote string) error {
	return l.writeErr(event{Event: "suppression", Action: action, Domain: domain, Rcpt: address,
		Reason: reason, Operator: who, Remote: remote, Result: "ok"}, true)
}

// Consent records a change of the consent register: action is add or
// revoke, address the patient's, who the operator. The record is synced:
// a consent that cannot be audited is not added (the caller refuses).
func (l *Log) Consent(action, address string, basis mail.ConsentBasis, who string) error {
	return l.writeErr(event{Event: "consent", Action: action, Rcpt: address, Consent: &basis,
		Operator: who, Result: "ok"}, true)
}

// Report records a delivery report (kind dsn) or a complaint (kind arf)
// that came back for one recipient of a message sent earlier: its class
// (hard, soft, policy, tls, other; complaint for a complaint) and status
// code, never the report's text. The record is synced before the report
// is answered 250.
func (l *Log) Report(kind, queueID, domain, rcpt, class, enhanced string, code int) error {
	return l.writeErr(event{Event: "report", Action: kind, QueueID: queueID, Domain: domain, Rcpt: rcpt,
		Reason: class, Enhanced: enhanced, Code: code, Result: "ok"}, true)
}

// Accepted records a message answered 250, with its policy decision, or a
// message sealgate wrote itself entering the spool (with its origin).
func (l *Log) Accepted(env *mail.Envelope) {
	rcpts := make([]string, len(env.Rcpts))
	for i, r := range env.Rcpts {
		rcpts[i] = r.Addr
	}
	phi := env.Policy.PHI
	l.write(event{Event: "accepted", QueueID: env.ID, Client: env.Client, Remote: env.ClientAddr,
		From: &env.From, Rcpts: rcpts, PHI: &phi, Action: string(env.Policy.Action), Method: string(env.Policy.Method),
		Rule: env.Policy.Rule, Rules: env.Policy.Rules, Finds: env.Policy.Reasons, Origin: env.Origin})
}

// Rejected records a refused message or command.
func (l *Log) Rejected(client, remote, reason string) {
	l.write(event{Event: "rejected", Client: client, Remote: remote, Reason: reason})
}

// Expired records a recipient failed because its message stayed in the
// queue past its maximum age: it bounces (4.4.7) after attempts tries,
// without another.
func (l *Log) Expired(env *mail.Envelope, rcpt string, attempts int) {
	l.write(event{Event: "expired", QueueID: env.ID, Rcpt: rcpt, Result: string(mail.ResultBounced), Attempt: attempts,
		Enhanced: "4.4.7", Origin: env.Origin})
}

// Delivery records one delivery attempt for one recipient.
func (l *Log) Delivery(env *mail.Envelope, o mail.Outcome, attempt int) {
	result := string(o.Result())
	verified := o.Verified
	l.write(event{Event: "delivery", QueueID: env.ID, Rcpt: o.Rcpt, Result: result, Attempt: attempt,
		Code: o.Code, Enhanced: o.Enhanced, RemoteText: mail.ReplyText(o.Err), Remote2: o.RemoteMTA, TLS: o.TLSVersion, Verify: &verified, VerifyBy: o.Verification, Cipher: o.TLSCipher,
		Method: o.Method, Reason: o.MethodReason, Encryption: o.Encryption, Consent: o.Consent, Notice: o.Notice, Origin: env.Origin})
}
