package smtpd

import (
	"errors"
	"io"
	"mime"
	"net/mail"

	"github.com/sealgate/sealgate/addr"
	"github.com/sealgate/sealgate/internal/mimelimit"
	"github.com/sealgate/sealgate/mailtext"
)

// maxHops is the most Received headers a message may carry before it is
// taken for a mail loop (RFC 5321 §6.3).
const maxHops = 50

// senderFields are the header fields that name who a message is from
// (RFC 5322 §3.6.2 and §3.6.6). Every address in every one of them must be
// among the client's allowed senders.
var senderFields = []string{"From", "Sender", "Resent-From", "Resent-Sender"}

// checkHeaders reads the message's header once, in the form every later
// reader takes it in (the policy first), and checks it: it must read
// within the shared limits (a header that does not read whole is refused,
// since sender binding must see every From), have exactly one From and at
// most one Sender, every address of every From, Sender, Resent-From and
// Resent-Sender among the client's allowed senders, and no mail loop.
func (s *session) checkHeaders(body []byte) (mailtext.Header, error) {
	return checkHeaders(s.client, body)
}

// checkHeaders is the header check of a message from client c.
func checkHeaders(c *Client, body []byte) (mailtext.Header, error) {
	h, err := mailtext.ParseHeader(body)
	switch {
	case errors.Is(err, mailtext.ErrHeaderSyntax):
		return h, errBadMessage
	case err != nil, !hasRoom(&h):
		return h, errHeaderTooBig // over a size, field or line limit, or too near one
	}
	return h, checkFields(c, &h)
}

// What smtpd leaves free under the shared header limits (mimelimit) for
// the fields sealgate adds before a message leaves (its Received field, a
// DKIM-Signature, the List-Unsubscribe pair, a protected message's Subject
// and MIME-Version): a header it takes must still read after them, or DKIM,
// the encryptor, the portal and delivery would all refuse a message that
// was answered 250.
const (
	headerRoomFields = 16
	headerRoomBytes  = 8 << 10
)

// hasRoom reports whether h leaves that room.
func hasRoom(h *mailtext.Header) bool {
	return h.Len() <= mimelimit.MaxHeaderFields-headerRoomFields &&
		h.BodyOffset() <= mimelimit.MaxHeaderBytes-headerRoomBytes
}

// checkFields checks the sender fields and the hop count of a header.
func checkFields(c *Client, h *mailtext.Header) error {
	if h.Count("Received") > maxHops {
		return errLoop
	}
	if h.Count("From") != 1 {
		return errNoHeaderFrom
	}
	if h.Count("Sender") > 1 {
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
