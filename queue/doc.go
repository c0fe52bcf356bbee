// Package queue is sealgate's durable outbound queue: an encrypted spool on
// disk and a scheduler that hands due messages to a Courier.
//
// # Spool format
//
// The spool is a directory of append-only segment files, numbered in hex
// (0000000000000001.seg, …), and quarantine/. Every change to the queue is
// a record appended to the newest segment:
//
//	"SG2" | kind (1 byte) | queue ID (12 bytes) | length (4 bytes, big endian) | encrypted payload
//
// Kinds: 'M' holds the envelope and the message (uvarint(len(envelope)) ||
// envelope JSON || message bytes with CRLF line endings, as received plus
// sealgate's Received header); 'S' holds the per-recipient State JSON and
// replaces the previous one; 'D' says the message is finished. Both JSON
// documents carry "v": 1; another version is quarantined, not guessed.
//
// Each payload is encrypted with AES-256-GCM (12-byte nonce || ciphertext ||
// tag) with associated data "sealgate spool v2 <kind> <queue ID>", so a
// record cannot be replayed as another kind or for another message. The
// key (32 random bytes) is a file of its own that the configuration names,
// kept apart from the spool and created 0600 on first start.
//
// Queue IDs are 24 hex digits: 6 bytes of millisecond time, 6 random bytes.
//
// # Durability and group commit
//
// One writer goroutine owns the segments. It takes every record waiting,
// appends them with one write, and when any of them must be durable, one
// fdatasync covers them all: many concurrent SMTP sessions share one disk
// flush. Enqueue waits for that flush; only then does smtpd answer 250. A
// new segment is created and its directory fsynced before the first
// record goes into it.
//
// State records and 'D' records are written but not waited for on disk,
// except the state that records a DSN as queued (written in one write
// with the DSN, see Delivery), a release from hold, and an operator's
// delete: a process crash (kill -9) loses nothing written
// before it, and a power failure can at worst lose an attempt count or a
// 'D', which means an earlier retry or a recipient delivered twice, never a
// message lost. Before every retry the attempt is recorded (count and next
// attempt time) before any connection is made, so a crash during delivery
// becomes a normal delayed retry. The first attempt of a fresh message is
// not recorded beforehand: after a crash it is simply tried again. A
// message's recipient domains are delivered one after another, and the
// state is written after each, so a crash repeats at most the deliveries
// to the domain in flight.
//
// Segments are deleted oldest first once no queued message's latest record
// is in them (a newer segment may hold the 'D' that keeps an older one's
// message from coming back). A message still waiting in the oldest segment
// after five minutes has its records copied, as they are, into the newest
// segment, durably, so the old file can go.
//
// This replaces the file-per-message layout (temporary file, fsync,
// rename, directory fsync per message) for a measured reason: on this
// project's 2-core machine, with 20 concurrent writers, file-per-message
// cost 340-760 us of CPU per message, almost all in the kernel's create,
// fsync and unlink; the segment log costs 65-90 us (BenchmarkEnqueueDeliver).
//
// # Recovery
//
// On start every segment is read, oldest first, and every record is
// authenticated. First the key is checked: if the spool holds whole
// records and the key opens none of them, the spool was encrypted with
// another key, and opening fails (ErrWrongKey) with nothing changed,
// rather than taking every record for damage. A bad record at the very end of the newest segment is the
// torn tail of a write that was never acknowledged: it is cut off. A
// damaged region anywhere else is copied to quarantine/ with a log line
// and a metric, and reading resumes at the next record that
// authenticates. A message that cannot be decoded, or that crashes its
// delivery attempt, is copied to quarantine/<id>.rec and removed from the
// queue: never retried for ever, never silently dropped.
//
// # Delivery
//
// Pending recipients are grouped by domain and handed to the Courier. A
// permanent failure bounces the recipient; a temporary one is retried on
// the configured schedule (see Backoff) until the message is older than
// MaxAge, when it bounces with 4.4.7. When every recipient is delivered or
// failed, a DSN (RFC 3464) is queued for the failed ones, and for the
// delivered ones that asked for NOTIFY=SUCCESS and whose next hop did not
// announce DSN ("relayed": a next hop that announced DSN received NOTIFY
// and sends the success notice itself, so the sender gets one, not two);
// none when NOTIFY=NEVER, the sender is null or the message is itself a
// DSN. The DSN enters the spool as every message sealgate writes itself
// does (origin "dsn", client "sealgate", audited on entry), in one write
// and one fdatasync with the bounced message's final state, which records
// it as queued: a crash leaves both or neither, or, torn mid-write, the
// DSN alone, which recovery links to its message (Envelope.DSNOf) before
// anything is delivered. Its queue ID and Message-ID derive from the
// bounced message's ID, so the spool can hold only one DSN per message.
// The message is removed after.
package queue
