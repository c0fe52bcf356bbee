package mail

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"
)

// RemoteReplier is implemented by delivery errors that carry the text of
// the remote server's reply.
type RemoteReplier interface {
	RemoteReply() string
}

// LocalReasoner is implemented by the errors of failures that sealgate
// decides itself, about the message rather than a remote reply (DKIM
// refusing a header it cannot read). LocalReason is a fixed text that
// quotes nothing of the message, safe for a DSN.
type LocalReasoner interface {
	LocalReason() string
}

// LocalError is the error of a failure sealgate decides itself: Err, with
// Reason (a fixed text quoting nothing of the message) for the DSN.
type LocalError struct {
	Err    error
	Reason string
}

func (e *LocalError) Error() string { return e.Err.Error() }

// Unwrap returns Err.
func (e *LocalError) Unwrap() error { return e.Err }

// LocalReason returns Reason.
func (e *LocalError) LocalReason() string { return e.Reason }

// StatusUnreadable is the enhanced status (RFC 3463 X.6.0, other media
// error) of a recipient bounced because sealgate cannot read its message
// well enough to send it as configured (a header that does not read).
const StatusUnreadable = "5.6.0"

// LocalReason is the reason that err, or an error it wraps, gives as a
// LocalReasoner, or "".
func LocalReason(err error) string {
	var lr LocalReasoner
	if err == nil || !errors.As(err, &lr) {
		return ""
	}
	return SanitizeReply(lr.LocalReason())
}

// maxReplyText bounds the reply text kept for logs, audit records, `queue
// show` and DSNs.
const maxReplyText = 200

// ReplyText returns the remote server's reply text carried by err, made
// safe to keep where operators and senders read it: words that hold an
// address (anything with '@', anything in angle brackets) become
// "[address]", quoted passages (which some servers use to echo message
// content) become "[quoted]", runs of three or more digits become
// "[number]", control characters are dropped and the text is cut at 200
// bytes. It returns "" when err carries no remote reply.
func ReplyText(err error) string {
	var rr RemoteReplier
	if err == nil || !errors.As(err, &rr) {
		return ""
	}
	return SanitizeReply(rr.RemoteReply())
}

// SanitizeReply strips addresses, quoted passages and numbers from a
// remote reply text (see ReplyText).
func SanitizeReply(text string) string {
	text = dropQuoted(strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || !unicode.IsPrint(r) {
			return ' '
		}
		return r
	}, text))
	words := strings.Fields(text)
	for i, w := range words {
		switch {
		case strings.ContainsAny(w, "@<>"):
			words[i] = "[address]"
		case hasDigitRun(w, 3):
			words[i] = "[number]"
		}
	}
	out := strings.Join(words, " ")
	if len(out) > maxReplyText {
		out = strings.ToValidUTF8(out[:maxReplyText], "") + "…"
	}
	return out
}

// dropQuoted replaces text between matching quotes ("…", '…', `…`, and the
// typographic “…”, ‘…’, «…») with "[quoted]"; an unmatched quote drops the
// rest of the text.
func dropQuoted(s string) string {
	var b strings.Builder
	for {
		i := strings.IndexAny(s, "\"'`“‘«")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		// An apostrophe inside a word ("don't") is not a quote.
		if s[i] == '\'' && i > 0 && i+1 < len(s) && isLetter(s[i-1]) && isLetter(s[i+1]) {
			b.WriteString(s[:i+1])
			s = s[i+1:]
			continue
		}
		open, size := utf8.DecodeRuneInString(s[i:])
		b.WriteString(s[:i])
		b.WriteString(" [quoted] ")
		j := strings.IndexRune(s[i+size:], closingQuote(open))
		if j < 0 {
			return b.String()
		}
		_, csize := utf8.DecodeRuneInString(s[i+size+j:])
		s = s[i+size+j+csize:]
	}
}

// closingQuote is the quote that ends a passage opened by open.
func closingQuote(open rune) rune {
	switch open {
	case '“':
		return '”'
	case '‘':
		return '’'
	case '«':
		return '»'
	}
	return open
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func hasDigitRun(w string, n int) bool {
	run := 0
	for _, r := range w {
		if r >= '0' && r <= '9' {
			if run++; run >= n {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}
