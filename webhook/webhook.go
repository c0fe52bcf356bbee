// Package webhook tells other systems what became of their mail: delivery
// events (accepted, delivered, deferred, bounced) are POSTed as JSON to
// each configured receiver that asked for them, signed with an HMAC-SHA256
// of the body under the receiver's secret:
//
//	X-Sealgate-Signature: sha256=<hex HMAC-SHA256(secret, body)>
//	X-Sealgate-Timestamp: <Unix seconds when this attempt was sent>
//
// An event is written to a durable outbox (SQLite,
// <data_dir>/webhooks/outbox.db, synchronous=FULL) before Add returns, so
// it is on disk at the point it is raised: a crash, a kill -9 or a restart
// loses none. Concurrent Adds share one transaction (group commit), and a
// writer that falls behind slows its callers down rather than dropping
// anything. Events stay until the receiver answers 2xx; a receiver that is
// down gets them later, retried with
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
	"sync"
	"time"

	"github.com/sealgate/sealgate/internal/batch"
	_ "modernc.org/sqlite" // pure-Go SQLite driver "sqlite"
)

// Event is one webhook payload.
type Event struct {
	ID           string    `json:"id"`    // unique per event, for the receiver to drop repeats
	Event        string    `json:"event"` // accepted, delivered, deferred, bounced, complained, suppressed, ...
	Time         time.Time `json:"time"`
	QueueID      string    `json:"queue_id,omitempty"` // absent for suppressed: the message was not taken
	Client       string    `json:"client,omitempty"`
	Recipient    string    `json:"recipient"`
	Attempt      int       `json:"attempt,omitempty"`
	Code         int       `json:"code,omitempty"`
	EnhancedCode string    `json:"enhanced_code,omitempty"`
	// Async marks a bounce or complaint that came back after the message
	// had left (a DSN or an ARF report to the bounce address).
	Async bool `json:"async,omitempty"`
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
	o   Options
	db  *sql.DB
	log *slog.Logger
	// in carries Adds to the writer; closed (under mu) by Close.
	in     chan addition
	mu     sync.RWMutex
	closed bool
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
	b := &Outbox{o: o, db: db, log: o.Logger, in: make(chan addition, maxBatch), poke: make(chan struct{}, 1),
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

// ErrClosed is what Add returns after Close.
var ErrClosed = errors.New("webhook outbox: closed")

// maxBatch bounds the Adds one outbox transaction takes.
const maxBatch = 256

// addition is one Add waiting for its events to be committed.
type addition struct {
	events []Event
	done   chan error
}

// Add writes events to the outbox, each for every receiver that asked for
// its kind, and returns once they are committed to disk together (or could
// not be: the error says why, and it is logged here too). It blocks while
// the writer is busy — back-pressure, never a drop. Concurrent calls are
// committed together, one fsync for the lot.
func (b *Outbox) Add(events ...Event) error {
	if b == nil {
		return nil
	}
	var want []Event
	for _, e := range events {
		if !b.wanted(e.Event) {
			continue
		}
		if e.ID == "" {
			var id [12]byte
			rand.Read(id[:])
			e.ID = hex.EncodeToString(id[:])
		}
		if e.Time.IsZero() {
			e.Time = time.Now().UTC()
		}
		want = append(want, e)
	}
	if len(want) == 0 {
		return nil
	}
	a := addition{events: want, done: make(chan error, 1)}
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return ErrClosed
	}
	b.in <- a
	b.mu.RUnlock()
	err := <-a.done
	if err != nil {
		b.log.Error("webhook events not recorded", slog.String("queue_id", want[0].QueueID), slog.String("event", want[0].Event),
			slog.Int("events", len(want)), slog.String("error", err.Error()))
	}
	return err
}

func (b *Outbox) wanted(kind string) bool {
	for _, r := range b.o.Receivers {
		if slices.Contains(r.Events, kind) {
			return true
		}
	}
	return false
}

// Close waits for the Adds under way, stops sending and closes the
// outbox; what was not sent stays for the next start. Add after Close
// returns ErrClosed; a second Close does nothing.
func (b *Outbox) Close() error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	close(b.in)
	b.mu.Unlock()
	<-b.done
	close(b.stop)
	<-b.sender
	return b.db.Close()
}

// write commits the waiting Adds, as many as are there (up to maxBatch)
// in one transaction, and answers each.
func (b *Outbox) write() {
	defer close(b.done)
	batch.Run(b.in, maxBatch, func(adds []addition) {
		err := b.insert(adds)
		if err != nil {
			err = fmt.Errorf("webhook outbox: %w", err)
		}
		for _, a := range adds {
			a.done <- err
		}
		if err == nil {
			select {
			case b.poke <- struct{}{}:
			default:
			}
		}
	})
}

func (b *Outbox) insert(batch []addition) error {
	tx, err := b.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	now := time.Now()
	for _, a := range batch {
		for _, e := range a.events {
			if err := b.insertOne(tx, e, now); err != nil {
				return err
			}
		}
	}
	return tx.Commit()
}

// insertOne adds e for every receiver that asked for its kind.
func (b *Outbox) insertOne(tx *sql.Tx, e Event, now time.Time) error {
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
	return nil
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
