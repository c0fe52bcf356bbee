package encrypt

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/sealgate/sealgate/encrypt/portalbox"
	"github.com/sealgate/sealgate/mail"
)

// errPortal is the temporary failure of a portal hand-off; the cause is
// logged, not carried (it may name files).
var errPortal = errors.New("encrypt: portal hand-off failed")

// sendPortal stores the message, encrypted, in the portal store and puts p's
// notification into the spool (Config.Notices): from there it leaves like
// any mail sealgate writes itself, retried and audited on its own, and a
// crash cannot lose it. p is done once the notification is spooled. A
// retried hand-off replaces the earlier item (same queue ID and
// recipient), so at most one link per recipient is live.
func (r *run) sendPortal(p *rcptState) {
	c := r.c
	now := c.cfg.Now()
	it := portalbox.Item{QueueID: r.d.QueueID, Recipient: p.rcpt.Addr, Sender: r.d.From,
		Message: r.d.Body, Created: now, Expires: now.Add(c.cfg.Notice.TTL)}
	token, err := c.cfg.Portal.Put(r.ctx, it)
	if err != nil {
		r.portalFailed(p, "store", err)
		return
	}
	msg, err := c.cfg.Notice.build(noticeRequest{From: r.d.From, To: p.rcpt.Addr, Token: token, Expires: it.Expires, Now: now})
	var notice string
	if err == nil {
		notice, err = c.cfg.Notices.Submit(r.ctx, mail.Generated{Origin: mail.OriginPortalNotice, From: r.d.From,
			To: []string{p.rcpt.Addr}, Body: msg, TLS: r.protectedLevel(), RequireTLS: r.d.RequireTLS})
	}
	if err != nil {
		// Nobody will be told of this link: the item goes again.
		if derr := c.cfg.Portal.Delete(r.ctx, token); derr != nil {
			c.cfg.Logger.Warn("portal item not removed after a failed notification", slog.String("queue_id", r.d.QueueID), slog.String("error", derr.Error()))
		}
		r.portalFailed(p, "notification", err)
		return
	}
	r.finish(p, mail.Outcome{Notice: notice})
}

// portalFailed defers p after a failed hand-off.
func (r *run) portalFailed(p *rcptState, stage string, err error) {
	r.c.cfg.Logger.Error("portal hand-off failed", slog.String("queue_id", r.d.QueueID),
		slog.String("stage", stage), slog.String("error", err.Error()))
	r.finish(p, mail.Outcome{Err: fmt.Errorf("%w (%s)", errPortal, stage), Enhanced: "4.3.0"})
}
