package smtpd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/sealgate/sealgate/addr"
	"github.com/sealgate/sealgate/mail"
)

// Submission is a message handed to sealgate other than over SMTP (the
// HTTP API). It takes the road an SMTP transaction takes from MAIL on:
// the client's allowed senders for the envelope and the From, Sender and
// Resent- fields, the size and recipient limits, the client's sending
// rate, the spool's free-space reserve, the policy, the Received field,
// the spool (durable before Submit returns) and the audit log.
type Submission struct {
	// ID is the queue ID to give the message; "" makes one. The API
	// reserves it first so a retried request finds the same message.
	ID string
	// Client is the configured client's name the caller authenticated.
	Client string
	// Remote is the peer's address, for the audit log and Received.
	Remote string
	// Protocol names the way in for Received ("HTTPS").
	Protocol string
	// From is the envelope sender; To the recipients.
	From string
	To   []string
	// Body is the complete message with CRLF line endings.
	Body []byte
}

// Submit checks and queues a Submission and returns its queue ID once the
// message is on disk. A refusal is an error for which Refusal reports the
// reason; any other error is internal.
func (srv *Server) Submit(ctx context.Context, sub Submission) (string, error) {
	id := sub.ID
	if id == "" {
		id = mail.NewID()
	}
	c := srv.clientNamed(sub.Client)
	log := srv.log.With(slog.String("listener", "api"))
	err := srv.submit(ctx, c, id, sub, log)
	if err == nil {
		return id, nil
	}
	var r *rejection
	if errors.As(err, &r) {
		srv.m.rejected.WithLabelValues(r.reason).Inc()
		log.Info("rejected", slog.String("reason", r.reason), slog.String("client", sub.Client))
		if srv.cfg.Audit != nil {
			srv.cfg.Audit.Rejected(sub.Client, sub.Remote, r.reason)
		}
	}
	return "", err
}

func (srv *Server) submit(ctx context.Context, c *Client, id string, sub Submission, log *slog.Logger) error {
	switch {
	case c == nil:
		return fmt.Errorf("smtpd: no client %q", sub.Client)
	case srv.refusing() != nil:
		return srv.refusing()
	case int64(len(sub.Body)) > srv.cfg.Limits.MaxMessageBytes:
		return errTooBig
	case len(sub.To) == 0:
		return errNoRecipients
	case len(sub.To) > srv.cfg.Limits.MaxRecipients:
		return errTooManyRcpts
	case bareLineEnding(sub.Body):
		return errBareNewline
	}
	utf8 := !isASCII(sub.From)
	for _, t := range sub.To {
		utf8 = utf8 || !isASCII(t)
	}
	from, err := checkSender(c, sub.From, utf8)
	if err != nil {
		return err
	}
	rcpts := make([]mail.Rcpt, 0, len(sub.To))
	for _, t := range sub.To {
		a, err := addr.Parse(t, addr.Options{SMTPUTF8: utf8})
		if err != nil {
			return addrError(err)
		}
		if err := srv.checkSuppressed(ctx, c, from, a.String(), log); err != nil {
			return err
		}
		rcpts = append(rcpts, mail.Rcpt{Addr: a.String()})
	}
	if sc, ok := srv.cfg.Queue.(SpaceChecker); ok {
		if err := sc.CheckSpace(int64(len(sub.Body))); err != nil {
			log.Warn("new mail refused: spool storage", slog.String("error", err.Error()))
			return errNoStorage
		}
	}
	h, err := checkHeaders(c, sub.Body)
	if err != nil {
		return err
	}
	if !srv.sendRate.allow(c.Name, time.Now()) {
		return errRateLimit
	}
	a := admission{id: id, channel: "api", client: c, from: from, rcpts: rcpts, header: &h, remote: sub.Remote,
		opts: smtp.MailOptions{UTF8: utf8, Body: smtp.Body8BitMIME}, log: log,
		received: func(id string) []byte {
			proto := sub.Protocol
			if proto == "" {
				proto = "HTTPS"
			}
			return fmt.Appendf(nil, "Received: from api (%s)\r\n\tby %s (sealgate) with %s id %s;\r\n\t%s\r\n",
				cleanHelo(sub.Remote), srv.cfg.Hostname, proto, id, time.Now().Format(time.RFC1123Z))
		}}
	return srv.admit(ctx, a, sub.Body)
}

// clientNamed is the configured client of that name, or nil.
func (srv *Server) clientNamed(name string) *Client {
	for i := range srv.cfg.Clients {
		if srv.cfg.Clients[i].Name == name {
			return &srv.cfg.Clients[i]
		}
	}
	return nil
}

// Refusal reports why Submit refused a message: the reason label (as in
// sealgate_messages_rejected_total), the SMTP reply code and the reply's
// fixed text. ok is false for an internal error.
func Refusal(err error) (reason string, code int, text string, ok bool) {
	var r *rejection
	if !errors.As(err, &r) {
		return "", 0, "", false
	}
	return r.reason, r.reply.Code, r.reply.Message, true
}

func bareLineEnding(b []byte) bool {
	for i, c := range b {
		switch {
		case c == '\n' && (i == 0 || b[i-1] != '\r'):
			return true
		case c == '\r' && (i+1 == len(b) || b[i+1] != '\n'):
			return true
		}
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
