package dsn

import (
	"crypto/rand"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/sealgate/sealgate/addr"
	"github.com/sealgate/sealgate/mailtext"
)

// notice is a Report after validation and sanitising: every string in it is
// safe to write into a header field.
type notice struct {
	mta, envID, queueID  string
	from, to, messageID  string
	arrival, date        time.Time
	rcpts                []rcpt
	original             []byte // the section to return, CRLF
	full, delay, utf8Hdr bool
}

// rcpt is a sanitised Recipient.
type rcpt struct {
	addr, orcpt, action, status string
	remoteMTA, diagnostic       string
	last                        time.Time
}

// addrOpts accepts every address the SMTP server may have accepted.
func addrOpts() addr.Options { return addr.Options{SMTPUTF8: true, AllowQuoted: true} }

func prepare(r Report) (notice, error) {
	n := notice{arrival: r.ArrivalDate, date: r.Date, delay: r.Delay}
	var err error
	if n.mta, err = addr.Domain(r.ReportingMTA); err != nil {
		return notice{}, fmt.Errorf("%w: reporting MTA: %w", ErrInvalid, err)
	}
	if n.from, n.to, err = envelope(r, n.mta); err != nil {
		return notice{}, err
	}
	if n.envID, n.queueID, n.messageID, err = identifiers(r, n.mta); err != nil {
		return notice{}, err
	}
	if n.full, err = parseRet(r.Ret); err != nil {
		return notice{}, err
	}
	if n.rcpts, err = recipients(r.Recipients, r.Delay); err != nil {
		return notice{}, err
	}
	if n.date.IsZero() {
		n.date = time.Now()
	}
	n.original = returnedSection(r.Original, n.full)
	n.utf8Hdr = !isASCII(string(mailtext.LeadingFields(n.original)))
	return n, nil
}

// envelope validates the notification's From and To addresses.
func envelope(r Report, mta string) (from, to string, err error) {
	if r.To == "" {
		return "", "", ErrNullSender
	}
	t, err := addr.Parse(r.To, addrOpts())
	if err != nil {
		return "", "", fmt.Errorf("%w: recipient of the notification: %w", ErrInvalid, err)
	}
	if r.From == "" {
		return "postmaster@" + mta, t.String(), nil
	}
	f, err := addr.Parse(r.From, addrOpts())
	if err != nil {
		return "", "", fmt.Errorf("%w: sender of the notification: %w", ErrInvalid, err)
	}
	return f.String(), t.String(), nil
}

var (
	queueIDRe   = regexp.MustCompile(`^[A-Za-z0-9._-]{0,64}$`)
	messageIDRe = regexp.MustCompile(`^[!#-'*+\-/-9=?A-Z^-~.]{1,200}@[A-Za-z0-9.\-]{1,253}$`)
	statusRe    = regexp.MustCompile(`^[245]\.[0-9]{1,3}\.[0-9]{1,3}$`)
	remoteMTARe = regexp.MustCompile(`^[A-Za-z0-9.:\-\[\]]{0,255}$`)
	addrTypeRe  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,31}$`)
)

// identifiers checks the queue ID and Message-ID and sanitises the ENVID.
func identifiers(r Report, mta string) (envID, queueID, msgID string, err error) {
	if !queueIDRe.MatchString(r.QueueID) {
		return "", "", "", fmt.Errorf("%w: queue ID", ErrInvalid)
	}
	msgID = r.MessageID
	if msgID == "" {
		msgID = rand.Text() + "@" + mta
	} else if !messageIDRe.MatchString(msgID) {
		return "", "", "", fmt.Errorf("%w: message ID", ErrInvalid)
	}
	return sanitize(r.EnvID, 100, false), r.QueueID, msgID, nil
}

func parseRet(ret string) (full bool, err error) {
	switch strings.ToUpper(ret) {
	case "", "HDRS":
		return false, nil
	case "FULL":
		return true, nil
	}
	return false, fmt.Errorf("%w: RET must be FULL or HDRS", ErrInvalid)
}

// recipients validates and sanitises the per-recipient fields.
func recipients(in []Recipient, delay bool) ([]rcpt, error) {
	if len(in) == 0 {
		return nil, ErrNoRecipients
	}
	out := make([]rcpt, 0, len(in))
	for i, r := range in {
		c, err := recipient(r, delay)
		if err != nil {
			return nil, fmt.Errorf("recipient %d: %w", i+1, err)
		}
		out = append(out, c)
	}
	return out, nil
}

func recipient(r Recipient, delay bool) (rcpt, error) {
	a, err := addr.Parse(r.Addr, addrOpts())
	if err != nil {
		return rcpt{}, fmt.Errorf("%w: address: %w", ErrInvalid, err)
	}
	c := rcpt{addr: a.String(), action: strings.ToLower(r.Action), status: r.Status, last: r.LastAttempt}
	switch {
	case c.action == "" && delay:
		c.action = "delayed"
	case c.action == "":
		c.action = "failed"
	}
	switch c.action {
	case "failed", "delayed", "delivered", "relayed", "expanded":
	default:
		return rcpt{}, fmt.Errorf("%w: action", ErrInvalid)
	}
	if !statusRe.MatchString(c.status) {
		return rcpt{}, fmt.Errorf("%w: status code", ErrInvalid)
	}
	if !remoteMTARe.MatchString(r.RemoteMTA) {
		return rcpt{}, fmt.Errorf("%w: remote MTA", ErrInvalid)
	}
	c.remoteMTA = r.RemoteMTA
	c.orcpt = typed(r.ORCPT, "rfc822", true)
	c.diagnostic = typed(r.Diagnostic, "smtp", false)
	return c, nil
}

// typed sanitises a "type; value" field (Original-Recipient,
// Diagnostic-Code), adding defType when the value has no valid type.
func typed(s, defType string, allowUTF8 bool) string {
	s = sanitize(s, 500, allowUTF8)
	if s == "" {
		return ""
	}
	t, v, ok := strings.Cut(s, ";")
	if !ok || !addrTypeRe.MatchString(strings.TrimSpace(t)) {
		t, v = defType, s
	}
	v = strings.TrimSpace(v)
	if v == "" {
		return ""
	}
	return strings.ToLower(strings.TrimSpace(t)) + "; " + v
}
