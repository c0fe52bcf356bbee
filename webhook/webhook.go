// Package webhook tells other systems what became of their mail: delivery
// events (accepted, delivered, deferred, bounced) are POSTed as JSON to
// each configured receiver that asked for them, signed with an HMAC-SHA256
// of the body under the receiver's secret:
//
//	X-Sealgate-Signature: sha256=<hex HMAC-SHA256(secret, body)>
//	X-Sealgate-Timestamp: <Unix seconds when this attempt was sent>
//
// Events wait in a durable outbox (SQLite, <data_dir>/webhooks/outbox.db,
// synchronous=FULL) until the receiver answers 2xx: a crash or a restart
// loses none, and a receiver that is down gets them later, retried with
// exponential back-off (1 s doubling to 10 minutes) for up to MaxAge. An
// event carries no PHI: queue ID, recipient address, event, time, attempt
// and reply codes — never a subject, a body or a remote server's text.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	_ "modernc.org/sqlite" // pure-Go SQLite driver "sqlite"
)

// Event is one webhook payload.
type Event struct {
	ID           string    `json:"id"`    // unique per event, for the receiver to drop repeats
	Event        string    `json:"event"` // accepted, delivered, deferred, bounced
	Time         time.Time `json:"time"`
	QueueID      string    `json:"queue_id,omitempty"` // absent for suppressed: the message was not taken
	Client       string    `json:"client,omitempty"`
	Recipient    string    `json:"recipient"`
	Attempt      int       `json:"attempt,omitempty"`
	Code         int       `json:"code,omitempty"`
	EnhancedCode string    `json:"enhanced_code,omitempty"`
}

// Receiver is one configured webhook.
type Receiver struct {
	URL    string
	Secret []byte
	Events []string
	// TLS is the client TLS configuration (RootCAs); nil: the system's.
	TLS *tls.Config
}

// Sign returns the X-Sealgate-Signature value of body under secret.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether sig is body's signature under secret, in
// constant time: what a receiver does.
func Verify(secret, body []byte, sig string) bool {
	return hmac.Equal([]byte(sig), []byte(Sign(secret, body)))
}

// MinSecret is the shortest secret accepted.
const MinSecret = 16

// ReadSecret reads a secret file: its content without surrounding
// whitespace, at least MinSecret bytes, in a file others cannot read.
func ReadSecret(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o007 != 0 {
		return nil, fmt.Errorf("%s has mode %#o: others may read the webhook secret; run chmod o-rwx %s", path, uint32(fi.Mode().Perm()), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	b = bytes.TrimSpace(b)
	if len(b) < MinSecret {
		return nil, fmt.Errorf("%s: a webhook secret needs at least %d bytes", path, MinSecret)
	}
	return b, nil
}

// Options configure an Outbox.
type Options struct {
	Dir       string // the outbox's folder
	Receivers []Receiver
	Logger    *slog.Logger
	// MaxAge is how long an event is retried (default 48 h).
	MaxAge time.Duration
	// MinBackoff and MaxBackoff bound the wait between attempts (default
	// 1 s and 10 minutes).
	MinBackoff, MaxBackoff time.Duration
}

// Outbox keeps events until their receivers have them.
type Outbox struct {
	o      Options
	db     *sql.DB
	log    *slog.Logger
	in     chan Event
	poke   chan struct{}
	stop   chan struct{}
	done   chan struct{}
	sender chan struct{}
	client []*http.Client
}

var schema = `CREATE TABLE IF NOT EXISTS outbox (
	id INTEGER PRIMARY KEY AUTOINCREMENT, receiver INTEGER NOT NULL, url TEXT NOT NULL,
	body BLOB NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL, -- Unix ms
	created INTEGER NOT NULL)`

// Open opens (creating) the outbox and starts sending what it holds.
func Open(o Options) (*Outbox, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.MaxAge = cmpOr(o.MaxAge, 48*time.Hour)
	o.MinBackoff = cmpOr(o.MinBackoff, time.Second)
	o.MaxBackoff = cmpOr(o.MaxBackoff, 10*time.Minute)
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("webhook outbox: %w", err)
	}
	path := filepath.Join(o.Dir, "outbox.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("webhook outbox: %w", err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("webhook outbox: %w", err)
	}
	os.Chmod(path, 0o600)
	b := &Outbox{o: o, db: db, log: o.Logger, in: make(chan Event, 4096), poke: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{}), sender: make(chan struct{})}
	for _, r := range o.Receivers {
		b.client = append(b.client, &http.Client{Timeout: 15 * time.Second,
			Transport:     &http.Transport{TLSClientConfig: r.TLS, ForceAttemptHTTP2: true},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }})
	}
	go b.write()
	go b.send()
	return b, nil
}

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Add queues an event for every receiver that asked for its kind. It
// never blocks: the event is written to the outbox by one goroutine, a
// batch per transaction (within milliseconds); an event that finds the
// buffer full is logged and dropped.
func (b *Outbox) Add(e Event) {
	if b == nil || !b.wanted(e.Event) {
		return
	}
	if e.ID == "" {
		var id [12]byte
		rand.Read(id[:])
		e.ID = hex.EncodeToString(id[:])
	}
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	select {
	case b.in <- e:
	default:
		b.log.Error("webhook event dropped: outbox buffer full", slog.String("queue_id", e.QueueID), slog.String("event", e.Event))
	}
}

func (b *Outbox) wanted(kind string) bool {
	for _, r := range b.o.Receivers {
		if slices.Contains(r.Events, kind) {
			return true
		}
	}
	return false
}

// Close writes the buffered events, stops sending and closes the outbox;
// what was not sent stays for the next start.
func (b *Outbox) Close() error {
	if b == nil {
		return nil
	}
	close(b.in)
	<-b.done
	close(b.stop)
	<-b.sender
	return b.db.Close()
}

// write moves events from the buffer into the outbox.
func (b *Outbox) write() {
	defer close(b.done)
	for e := range b.in {
		batch := []Event{e}
	more:
		for len(batch) < 256 {
			select {
			case e, ok := <-b.in:
				if !ok {
					break more
				}
				batch = append(batch, e)
			default:
				break more
			}
		}
		if err := b.insert(batch); err != nil {
			b.log.Error("webhook events not written to the outbox", slog.Int("events", len(batch)), slog.String("error", err.Error()))
			continue
		}
		select {
		case b.poke <- struct{}{}:
		default:
		}
	}
}

func (b *Outbox) insert(batch []Event) error {
	tx, err := b.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	now := time.Now()
	for _, e := range batch {
		body, err := json.Marshal(e)
		if err != nil {
			return err
		}
		for i, r := range b.o.Receivers {
			if !slices.Contains(r.Events, e.Event) {
				continue
			}
			if _, err := tx.Exec(`INSERT INTO outbox (receiver, url, body, next_at, created) VALUES (?, ?, ?, ?, ?)`,
				i, r.URL, body, now.UnixMilli(), now.Unix()); err != nil {
				return err
			}
		}
	}
	return tx.Commit()
}

// Pending is how many deliveries wait in the outbox.
func (b *Outbox) Pending(ctx context.Context) (int, error) {
	var n int
	err := b.db.QueryRowContext(ctx, `SELECT count(*) FROM outbox`).Scan(&n)
	return n, err
}

type row struct {
	id       int64
	receiver int
	url      string
	body     []byte
	attempts int
	created  int64
}

// send posts due events until Close.
func (b *Outbox) send() {
	defer close(b.sender)
	for {
		wait := b.sendDue()
		t := time.NewTimer(wait)
		select {
		case <-b.stop:
			t.Stop()
			return
		case <-b.poke:
		case <-t.C:
		}
		t.Stop()
	}
}

// sendDue sends every due event once and returns how long until the next
// is due.
func (b *Outbox) sendDue() time.Duration {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-b.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	now := time.Now()
	rows, err := b.due(ctx, now)
	if err != nil {
		b.log.Error("webhook outbox unreadable", slog.String("error", err.Error()))
		return b.o.MinBackoff
	}
	for _, r := range rows {
		if ctx.Err() != nil {
			return 0
		}
		b.deliver(ctx, r)
	}
	var next sql.NullInt64
	b.db.QueryRow(`SELECT min(next_at) FROM outbox`).Scan(&next)
	if !next.Valid {
		return time.Hour
	}
	return max(time.Until(time.UnixMilli(next.Int64)), 10*time.Millisecond)
}

func (b *Outbox) due(ctx context.Context, now time.Time) ([]row, error) {
	rs, err := b.db.QueryContext(ctx, `SELECT id, receiver, url, body, attempts, created FROM outbox WHERE next_at <= ? ORDER BY id LIMIT 200`, now.UnixMilli())
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []row
	for rs.Next() {
		var r row
		if err := rs.Scan(&r.id, &r.receiver, &r.url, &r.body, &r.attempts, &r.created); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rs.Err()
}

// deliver makes one attempt and records its outcome.
func (b *Outbox) deliver(ctx context.Context, r row) {
	if r.receiver >= len(b.o.Receivers) || b.o.Receivers[r.receiver].URL != r.url {
		// The configuration changed under the outbox: the receiver this
		// event was for is gone.
		b.log.Warn("webhook event dropped: its receiver is no longer configured", slog.String("url", r.url))
		b.db.Exec(`DELETE FROM outbox WHERE id = ?`, r.id)
		return
	}
	rc := b.o.Receivers[r.receiver]
	err := b.post(ctx, b.client[r.receiver], rc, r.body)
	if err == nil {
		b.db.Exec(`DELETE FROM outbox WHERE id = ?`, r.id)
		return
	}
	if ctx.Err() != nil {
		return
	}
	attempts := r.attempts + 1
	if time.Since(time.Unix(r.created, 0)) > b.o.MaxAge {
		b.log.Error("webhook event given up", slog.String("url", rc.URL), slog.Int("attempts", attempts), slog.String("error", err.Error()))
		b.db.Exec(`DELETE FROM outbox WHERE id = ?`, r.id)
		return
	}
	wait := b.o.MinBackoff << min(attempts-1, 30)
	if wait <= 0 || wait > b.o.MaxBackoff {
		wait = b.o.MaxBackoff
	}
	b.log.Warn("webhook delivery failed; will retry", slog.String("url", rc.URL), slog.Int("attempts", attempts),
		slog.Duration("retry_in", wait), slog.String("error", err.Error()))
	b.db.Exec(`UPDATE outbox SET attempts = ?, next_at = ? WHERE id = ?`, attempts, time.Now().Add(wait).UnixMilli(), r.id)
}

var errStatus = errors.New("webhook: receiver answered")

func (b *Outbox) post(ctx context.Context, c *http.Client, rc Receiver, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rc.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "sealgate-webhook/1")
	req.Header.Set("X-Sealgate-Signature", Sign(rc.Secret, body))
	req.Header.Set("X-Sealgate-Timestamp", strconv.FormatInt(time.Now().Unix(), 10))
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%w %d", errStatus, resp.StatusCode)
	}
	return nil
}
