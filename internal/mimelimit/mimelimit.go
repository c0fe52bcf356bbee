// Package mimelimit holds the limits that every reader of a message in sealgate must
// agree on. The policy walks a message before it is queued and the pickup portal parses
// it again when it is handed over; if the portal read fewer parts than the policy
// accepts, a message the policy passed would fail at the hand-off. The header limits
// are enforced by the one header parser, mailtext.ParseHeader, which the SMTP server,
// the policy, DKIM, the DSN writer, the portal and the encryptor all read through.
package mimelimit

// MaxParts is the most MIME parts one message may have: the policy's default
// (policy.scan.max_parts) and the pickup portal's limit.
const MaxParts = 1000

// MaxHeaderBytes is the largest header section of a message, the empty line that
// ends it included. The SMTP server refuses a message with a larger one; any other
// reader finds it unreadable.
const MaxHeaderBytes = 256 << 10

// MaxHeaderFields is the most header fields one message's header section may have.
// Real mail has tens (Received fields included, of which the SMTP server takes at most
// 50); tens of thousands are only there to make every reader slow.
const MaxHeaderFields = 1000

// MaxHeaderLineBytes is the longest line of a header section, its line ending not
// counted: the SMTP listener's default line limit (limits.max_line_length, 4096 with
// its CRLF), so every header line the listener takes by default is read.
const MaxHeaderLineBytes = 4094

// MaxDepth is the deepest nesting of MIME parts (multiparts and messages
// inside messages) a message may have: the policy's default
// (policy.scan.max_depth) and the limit of every other reader.
const MaxDepth = 32
