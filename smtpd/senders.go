package smtpd

import (
	"bufio"
	"bytes"
	"io"
	"mime"
	"net/mail"

	"github.com/emersion/go-message/textproto"

	"github.com/sealgate/sealgate/addr"
	"github.com/sealgate/sealgate/mailtext"
)

// maxHops is the most Received headers a message may carry before it is
// taken for a mail loop (RFC 5321 §6.3).
const maxHops = 50

// maxHeaderBytes bounds a message's header. A message whose header does
// not end within it is refused: sender binding reads the whole header, so
// no From can hide beyond what was read.
const maxHeaderBytes = 256 << 10

// senderFields are the header fields that name who a message is from
// (RFC 5322 §3.6.2 and §3.6.6). Every address in every one of them must be
// among the client's allowed senders.
var senderFields = []string{"From", "Sender", "Resent-From", "Resent-Sender"}

// checkHeaders requires exactly one From header and at most one Sender,
// checks every address of every From, Sender, Resent-From and
// Resent-Sender against the client's allowed senders, and refuses looping
// mail and a header over maxHeaderBytes.
func (s *session) checkHeaders(body []byte) error { return checkHeaders(s.client, body) }

// checkHeaders is the header check of a message from client c.
func checkHeaders(c *Client, body []byte) error {
	if headerLen(body) > maxHeaderBytes {
		return errHeaderTooBig
	}
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(body[:min(len(body), maxHeaderBytes+4)])))
	if err != nil {
		return errBadMessage
	}
	if len(h.Values("Received")) > maxHops {
		return errLoop
	}
	if len(h.Values("From")) != 1 {
		return errNoHeaderFrom
	}
	if len(h.Values("Sender")) > 1 {
		return errHeaderFrom
	}
	for _, field := range senderFields {
		for _, v := range h.Values(field) {
			if err := checkSenderField(c, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// headerLen is the length of the header including the empty line that
// ends it; a message without that empty line is all header.
func headerLen(body []byte) int {
	head, _, _ := mailtext.SplitHeader(body)
	return len(head)
}

// addressParser reads address lists whatever the charset of their
// display names: only the addresses matter here, and a name in an
// unknown charset must not make the check fail open or refuse the mail.
var addressParser = mail.AddressParser{WordDecoder: &mime.WordDecoder{
	CharsetReader: func(_ string, r io.Reader) (io.Reader, error) { return r, nil },
}}

// checkSenderField checks one From, Sender, Resent-From or Resent-Sender
// value: it must hold at least one address, and every address must be
// allowed for the client.
func checkSenderField(c *Client, v string) error {
	list, err := addressParser.ParseList(v)
	if err != nil || len(list) == 0 {
		return errHeaderFrom
	}
	for _, m := range list {
		a, err := addr.Parse(m.Address, addr.Options{SMTPUTF8: true, AllowQuoted: true})
		if err != nil || !senderAllowed(c, a) {
			return errHeaderFrom
		}
	}
	return nil
}
