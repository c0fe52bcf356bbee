// Package queue is sealgate's durable outbound queue: an encrypted spool on
// disk and a scheduler that hands due messages to a Courier.
//
// # Spool format
//
// The spool is one directory with 16 subdirectories 0 … f. Each message is
// two files named by its queue ID (24 hex digits: 6 bytes of millisecond
// time, 6 random bytes), in the subdirectory named by the ID's last digit,
// so that concurrent writers rarely contend for one directory:
//
//	<x>/<id>.msg   envelope and body, written once when the message is accepted
//	<x>/<id>.st    per-recipient state, rewritten after delivery attempts
//	quarantine/    entries that could not be read or crashed an attempt
//
// Both files are sealed with AES-256-GCM:
//
//	"SGQ1" || 12-byte nonce || ciphertext+tag
//
// with associated data "sealgate spool v1 msg <id>" or "... state <id>", so
// a file cannot be swapped to another message or kind without failing
// authentication. The key (32 random bytes) is a file of its own that the
// configuration names, kept apart from the spool and created 0600 on first
// start.
//
// The plaintext of a .msg file is uvarint(len(envelope)) || envelope JSON ||
// message bytes (CRLF line endings, as received plus sealgate's Received
// header). The plaintext of a .st file is the State JSON. Both JSON
// documents carry "v": 1; a different version is quarantined, not guessed.
//
// # Durability
//
// Enqueue writes the .msg file to a temporary name in the spool directory,
// fsyncs it, renames it into place and fsyncs the directory; only then does
// it return, and only then does smtpd answer 250. Directory fsyncs of
// concurrent writers are batched (group commit): every writer waiting when
// a sync starts is covered by it.
//
// State files are renamed into place without fsync, except the state that
// records a DSN as queued: a process crash (kill -9) loses nothing written
// before it, and a power failure can at worst lose an attempt count, which
// means an earlier retry or a recipient delivered twice, never one lost.
// Before every retry the attempt is recorded (count and next attempt time)
// before any connection is made, so a crash during delivery becomes a
// normal delayed retry. The first attempt of a fresh message is not
// recorded beforehand: after a crash it is simply tried again.
//
// On start every .msg file is recovered; one that fails to decrypt or
// parse is moved to quarantine/ with a log line and a metric, never
// retried for ever and never silently dropped.
//
// # Delivery
//
// Pending recipients are grouped by domain and handed to the Courier. A
// permanent failure bounces the recipient; a temporary one is retried on
// the configured schedule (see Backoff) until the message is older than
// MaxAge, when it bounces with 4.4.7. When every recipient is delivered or
// failed, a DSN (RFC 3464) is queued for the failed ones, and the
// delivered ones that asked for NOTIFY=SUCCESS, unless NOTIFY=NEVER, the
// sender is null or the message is itself a DSN; the DSN is recorded as
// queued durably before the message is removed.
package queue
