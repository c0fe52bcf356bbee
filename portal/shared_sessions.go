package portal

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/sealgate/sealgate/store"
)

// sharedSessions keep sessions in the portal store, wrapped by the master key, so any node
// can serve any request. Store errors end the session for the visitor
// (they start again from their link) and are logged without content.
type sharedSessions struct {
	st   *store.Store
	idle time.Duration
	now  func() time.Time
	log  *slog.Logger

	mu        sync.Mutex
	lastSweep time.Time
}

func newSharedSessions(st *store.Store, idle time.Duration, now func() time.Time, log *slog.Logger) *sharedSessions {
	return &sharedSessions{st: st, idle: idle, now: now, log: log}
}

// sessionRecord is a session as stored.
type sessionRecord struct {
	CSRF        string    `json:"csrf"`
	MessageID   string    `json:"message_id"`
	Recipient   string    `json:"recipient,omitempty"`
	Authed      bool      `json:"authed,omitempty"`
	CodeOK      bool      `json:"code_ok,omitempty"`
	PasswordOK  bool      `json:"password_ok,omitempty"`
	TOTPOK      bool      `json:"totp_ok,omitempty"`
	CodeSent    time.Time `json:"code_sent"`
	LockedUntil time.Time `json:"locked_until"`
	Failures    int       `json:"failures,omitempty"`
	PendingTOTP []byte    `json:"pending_totp,omitempty"`
	TZ          string    `json:"tz,omitempty"`
}

func toRecord(s *session) sessionRecord {
	return sessionRecord{CSRF: s.csrf, MessageID: s.messageID, Recipient: s.recipient, Authed: s.authed,
		CodeOK: s.codeOK, PasswordOK: s.passwordOK, TOTPOK: s.totpOK, CodeSent: s.codeSent,
		LockedUntil: s.lockedUntil, Failures: s.failures, PendingTOTP: s.pendingTOTP, TZ: s.tz}
}

func fromRecord(id string, r sessionRecord, lastSeen time.Time) *session {
	return &session{id: id, csrf: r.CSRF, messageID: r.MessageID, recipient: r.Recipient, authed: r.Authed,
		codeOK: r.CodeOK, passwordOK: r.PasswordOK, totpOK: r.TOTPOK, codeSent: r.CodeSent,
		lockedUntil: r.LockedUntil, failures: r.Failures, pendingTOTP: r.PendingTOTP, tz: r.TZ, lastSeen: lastSeen}
}

func storeCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}

func (t *sharedSessions) save(s *session) bool {
	data, _ := json.Marshal(toRecord(s))
	ctx, cancel := storeCtx()
	defer cancel()
	if err := t.st.PutSession(ctx, s.id, data, s.lastSeen); err != nil {
		t.log.Warn("portal: saving a session failed", slog.String("error_type", "store"))
		return false
	}
	return true
}

// load returns the stored session, or nil.
func (t *sharedSessions) load(id string) *session {
	ctx, cancel := storeCtx()
	defer cancel()
	data, seen, err := t.st.GetSession(ctx, id)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			t.log.Warn("portal: loading a session failed", slog.String("error_type", "store"))
		}
		return nil
	}
	var r sessionRecord
	if json.Unmarshal(data, &r) != nil {
		return nil
	}
	return fromRecord(id, r, seen)
}

func (t *sharedSessions) create(messageID string) *session {
	t.sweepNow(false)
	s := &session{id: randomString(32), csrf: randomString(32), messageID: messageID, lastSeen: t.now()}
	if !t.save(s) {
		return nil
	}
	return s
}

func (t *sharedSessions) get(r *http.Request) (session, bool, bool) {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return session{}, false, false
	}
	s := t.load(c.Value)
	if s == nil {
		return session{}, false, false
	}
	now := t.now()
	if now.Sub(s.lastSeen) >= t.idle {
		t.remove(s.id)
		return session{}, true, false
	}
	s.lastSeen = now
	if !t.save(s) {
		return session{}, false, false
	}
	return *s, false, true
}

func (t *sharedSessions) update(id string, fn func(*session)) {
	if s := t.load(id); s != nil {
		fn(s)
		t.save(s)
	}
}

func (t *sharedSessions) rotate(id string, fn func(*session)) (session, bool) {
	s := t.load(id)
	if s == nil {
		return session{}, false
	}
	t.remove(id)
	s.id, s.csrf, s.lastSeen = randomString(32), randomString(32), t.now()
	fn(s)
	if !t.save(s) {
		return session{}, false
	}
	return *s, true
}

func (t *sharedSessions) remove(id string) {
	ctx, cancel := storeCtx()
	defer cancel()
	if err := t.st.DeleteSession(ctx, id); err != nil {
		t.log.Warn("portal: deleting a session failed", slog.String("error_type", "store"))
	}
}

// sweepNow deletes idle sessions, at most once per idle period unless
// forced, and returns how many are left (-1 when it did not run).
func (t *sharedSessions) sweepNow(force bool) int {
	now := t.now()
	t.mu.Lock()
	due := force || now.Sub(t.lastSweep) >= t.idle
	if due {
		t.lastSweep = now
	}
	t.mu.Unlock()
	if !due {
		return -1
	}
	ctx, cancel := storeCtx()
	defer cancel()
	n, err := t.st.SweepSessions(ctx, now.Add(-t.idle))
	if err != nil {
		return -1
	}
	return n
}

func (t *sharedSessions) count() int { return t.sweepNow(true) }

// clear does nothing: other nodes still serve these sessions.
func (t *sharedSessions) clear() {}
