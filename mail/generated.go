package mail

import "context"

// Origins of the mail sealgate writes itself (Envelope.Origin). DSNs are
// written by the queue itself, through the same door as the others, into
// its spool, and marked Envelope.DSN.
const (
	// OriginPortal is a mail of the pickup portal that carries no PHI: a
	// one-time code, a receipt.
	OriginPortal = "portal"
	// OriginPortalReply is a reply written on the portal; it carries PHI.
	OriginPortalReply = "portal_reply"
	// OriginPortalNotice is the notification that a message waits on the
	// portal: a link and no PHI, written by the encryptor.
	OriginPortalNotice = "portal_notice"
	// OriginTLSReport is an SMTP TLS report (RFC 8460) sent by mail.
	OriginTLSReport = "tlsrpt"
	// OriginDSN is a delivery status notification the queue wrote about
	// a message of its own (Envelope.DSN marks it too).
	OriginDSN = "dsn"
)

// GeneratedClient is the client name recorded for mail sealgate writes
// itself.
const GeneratedClient = "sealgate"

// Generated is a message that sealgate writes itself. It takes the same
// road as mail a client submits: into the spool, through protection,
// signing and delivery, retried on a temporary failure and audited.
type Generated struct {
	// Origin names what wrote it (OriginPortal and the others); it is
	// recorded in the envelope and the audit log.
	Origin string
	// From is the envelope sender; To the recipients.
	From string
	To   []string
	// Body is the complete message, CRLF line endings.
	Body []byte
	// Sensitive marks a message that carries PHI (a portal reply): it is
	// protected like the message it answers and leaves only over verified
	// TLS or better. Other generated mail is delivered as it is.
	Sensitive bool
	// TLS is the least transport security it needs; Sensitive raises it
	// to TLSVerify. RequireTLS carries the REQUIRETLS of the message it
	// speaks of (RFC 8689), so the requirement travels with it.
	TLS        TLSLevel
	RequireTLS bool
}

// Submitter takes a message sealgate writes itself into the spool,
// durably, and returns its queue ID (queue.Queue implements it; the
// wiring hands it to the parts that write mail).
type Submitter interface {
	Submit(ctx context.Context, g Generated) (string, error)
}
