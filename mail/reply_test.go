package mail

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

type replyErr struct{ text string }

func (e *replyErr) Error() string       { return "remote replied" }
func (e *replyErr) RemoteReply() string { return e.text }

func TestReplyTextStripsAddressesContentAndNumbers(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"No such user: pat.doe@example.net", "No such user: [address]"},
		{"<pat@example.net>: Recipient address rejected: User unknown", "[address] Recipient address rejected: User unknown"},
		{`Message content rejected: "SSN 123-45-6789 for Jane"`, "Message content rejected: [quoted]"},
		{"Mailbox full, don't retry before 2026", "Mailbox full, don't retry before [number]"},
		{"Blocked: 'Jane Doe diabetes", "Blocked: [quoted]"},
		{"Subject “Your HIV test results, Jane Roe” matched a content rule", "Subject [quoted] matched a content rule"},
		{"Refused ‘biopsy for Ana’ and «cita de Ana» here", "Refused [quoted] and [quoted] here"},
		{"try again\r\nlater\x00", "try again later"},
		{"MRN 00123456 unknown", "MRN [number] unknown"},
		{"", ""},
	} {
		if got := ReplyText(fmt.Errorf("wrapped: %w", &replyErr{tc.in})); got != tc.want {
			t.Errorf("ReplyText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := ReplyText(errors.New("dial tcp: refused")); got != "" {
		t.Errorf("an error without a remote reply gave %q", got)
	}
	long := ReplyText(&replyErr{strings.Repeat("word ", 100)})
	if len(long) > maxReplyText+len("…") || !strings.HasSuffix(long, "…") {
		t.Errorf("long reply not cut: %d bytes", len(long))
	}
}
