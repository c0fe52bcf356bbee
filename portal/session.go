package portal

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"
)

// cookieName has the __Host- prefix: the browser only accepts it Secure,
// for path /, without a Domain, so no sibling host can set or read it.
const cookieName = "__Host-sealgate"

// maxSessions bounds memory; beyond it new visitors are turned away until
// idle sessions expire.
const maxSessions = 100000

// session is one browser's visit. Before the code is entered it only knows
// which message the link pointed at. Only a live link makes a session; a
// link that leads nowhere gets a decoy, which behaves the same up to the
// code check and is not stored.
type session struct {
	id        string
	csrf      string
	messageID string // the message the link pointed at; "" for a decoy
	// decoy marks the stateless session of a link that leads nowhere
	// (see decoys): nothing about it is stored.
	decoy     bool
	authed    bool   // every required factor is proven: the message may be shown
	codeOK    bool   // the emailed code was right
	recipient string // the address, once the code was right
	// passwordOK and totpOK record the optional factors; pendingTOTP is a
	// secret shown for enrolment and not yet confirmed.
	passwordOK, totpOK bool
	pendingTOTP        []byte
	lastSeen           time.Time
	codeSent           time.Time
	failures           int // failed factors in this session
	lockedUntil        time.Time
	tz                 string // the browser's IANA time zone, once a form told it
}

// sessionTable keeps sessions; sessions (memory, one node) and
// sharedSessions (in the store, several nodes) implement it.
type sessionTable interface {
	// create starts a session for messageID; nil when none can be made.
	create(messageID string) *session
	// get returns the request's live session and marks it used; a session
	// idle too long is deleted and reported as expired.
	get(r *http.Request) (s session, expired bool, ok bool)
	// update applies fn to the stored session with id, if it still exists.
	update(id string, fn func(*session))
	// rotate gives a session a new ID and CSRF token and applies fn.
	rotate(id string, fn func(*session)) (session, bool)
	remove(id string)
	count() int // sweeps idle sessions; for the gauge
	clear()     // at shutdown
}

// sessions are kept in memory with an idle timeout. Several portal nodes
// behind a load balancer use sharedSessions, or session affinity.
type sessions struct {
	mu        sync.Mutex
	m         map[string]*session
	idle      time.Duration
	now       func() time.Time
	lastSweep time.Time
}

func newSessions(idle time.Duration, now func() time.Time) *sessions {
	return &sessions{m: map[string]*session{}, idle: idle, now: now}
}

func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session for messageID; nil when the table is full.
func (ss *sessions) create(messageID string) *session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if now := ss.now(); len(ss.m) >= maxSessions || now.Sub(ss.lastSweep) >= ss.idle {
		ss.sweepLocked() // idle sessions go at least once per idle period
		ss.lastSweep = now
		if len(ss.m) >= maxSessions {
			return nil
		}
	}
	s := &session{id: randomString(32), csrf: randomString(32), messageID: messageID, lastSeen: ss.now()}
	ss.m[s.id] = s
	return s
}

// get returns the request's live session and marks it used; a session
// idle too long is deleted. The second result tells an expired session
// from none.
func (ss *sessions) get(r *http.Request) (s session, expired bool, ok bool) {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return session{}, false, false
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	p := ss.m[c.Value]
	if p == nil {
		return session{}, false, false
	}
	now := ss.now()
	if now.Sub(p.lastSeen) >= ss.idle {
		delete(ss.m, p.id)
		return session{}, true, false
	}
	p.lastSeen = now
	return *p, false, true
}

// update applies fn to the stored session with id, if it still exists.
func (ss *sessions) update(id string, fn func(*session)) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if p := ss.m[id]; p != nil {
		fn(p)
	}
}

// rotate replaces a session's ID and CSRF token (after login, so a
// session ID planted before login is worthless) and returns the new one.
func (ss *sessions) rotate(id string, fn func(*session)) (session, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	p := ss.m[id]
	if p == nil {
		return session{}, false
	}
	delete(ss.m, id)
	p.id, p.csrf = randomString(32), randomString(32)
	fn(p)
	ss.m[p.id] = p
	return *p, true
}

func (ss *sessions) remove(id string) {
	ss.mu.Lock()
	delete(ss.m, id)
	ss.mu.Unlock()
}

func (ss *sessions) sweepLocked() {
	now := ss.now()
	for id, p := range ss.m {
		if now.Sub(p.lastSeen) >= ss.idle {
			delete(ss.m, id)
		}
	}
}

// count sweeps idle sessions and returns how many are left (a gauge).
func (ss *sessions) count() int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.sweepLocked()
	return len(ss.m)
}

func (ss *sessions) clear() {
	ss.mu.Lock()
	ss.m = map[string]*session{}
	ss.mu.Unlock()
}

// setCookie sends the session's cookie. Before the code is proven it is
// SameSite=Lax: a patient who opens the link from webmail arrives from
// another site, and the browser would not send a Strict cookie on the
// redirect to /pickup, leaving them at "open the link from your email".
// Lax still keeps it off another site's forms and embedded requests, and
// every form also needs the CSRF token. From the code on (the ID is
// rotated then) it is Strict, so no other site can even navigate a
// signed-in patient to a page of the message.
func setCookie(w http.ResponseWriter, s session) {
	same := http.SameSiteStrictMode
	if !s.codeOK {
		same = http.SameSiteLaxMode
	}
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: s.id, Path: "/",
		Secure: true, HttpOnly: true, SameSite: same,
	})
}

func clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: "", Path: "/", MaxAge: -1,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode,
	})
}

// csrfOK checks the form's token against the session's.
func csrfOK(r *http.Request, s session) bool {
	got := r.PostFormValue("csrf")
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) == 1
}
