package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sealgate/sealgate/audit"
	"github.com/sealgate/sealgate/internal/periodic"
	"github.com/sealgate/sealgate/safeio"
	"github.com/sealgate/sealgate/store"
)

// pendingDir is the folder under the data folder that holds the
// suppressions the shared store could not take yet.
const pendingDir = "suppressions-pending"

// pendingRetry is how often the pending suppressions are offered to the
// store again.
const pendingRetry = 10 * time.Second

// suppressionList is what the outbox writes to and reads from: the shared
// store's suppression list.
type suppressionList interface {
	Suppress(ctx context.Context, e store.Suppression) error
	Suppressed(ctx context.Context, domain, address string) (bool, error)
}

// errNoSuppressionList is Suppress's answer on a gateway without a store.
var errNoSuppressionList = errors.New("no suppression list: no store is open")

// pendingSuppression is one suppression waiting for the store, with what
// its audit record says once it is applied.
type pendingSuppression struct {
	Domain  string    `json:"domain"`
	Address string    `json:"address"`
	Reason  string    `json:"reason"`
	At      time.Time `json:"at"`
	Action  string    `json:"action"` // bounce, complaint, unsubscribe
	Actor   string    `json:"actor"`  // system, recipient
	Remote  string    `json:"remote,omitempty"`
}

// suppressionOutbox puts addresses on the suppression list so that none
// is lost while the shared store is down: what the store refuses is
// written (fsynced) to a file of its own under <data_dir>/
// suppressions-pending and offered to the store again every pendingRetry,
// at start too, until it takes it; only then is the file removed and the
// suppression audited. Meanwhile the RCPT check counts a pending address
// as suppressed, so no marketing mail reaches it in between.
type suppressionOutbox struct {
	list    suppressionList
	audit   *audit.Log
	log     *slog.Logger
	dir     string
	waiting prometheus.Gauge

	mu      sync.Mutex
	pending map[string]pendingSuppression // file name → entry
	keys    map[string]int                // pendingKey → entries pending for it
	loop    *periodic.Loop
}

// pendingKey is how a pending address is looked up at RCPT time.
func pendingKey(domain, address string) string {
	return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(domain), ".")) + "\n" + strings.ToLower(strings.TrimSpace(address))
}

// add and remove keep pending, keys and the gauge together; o.mu is held.
func (o *suppressionOutbox) add(name string, p pendingSuppression) {
	o.pending[name] = p
	o.keys[pendingKey(p.Domain, p.Address)]++
	o.waiting.Set(float64(len(o.pending)))
}

func (o *suppressionOutbox) remove(name string) {
	p, ok := o.pending[name]
	if !ok {
		return
	}
	delete(o.pending, name)
	if k := pendingKey(p.Domain, p.Address); o.keys[k] <= 1 {
		delete(o.keys, k)
	} else {
		o.keys[k]--
	}
	o.waiting.Set(float64(len(o.pending)))
}

// pendingGauge registers sealgate_suppressions_pending.
func pendingGauge(reg prometheus.Registerer) prometheus.Gauge {
	return registerOnce(reg, prometheus.NewGauge(prometheus.GaugeOpts{Name: "sealgate_suppressions_pending",
		Help: "Suppressions (hard bounces, complaints, unsubscribes) kept on this node's disk until the shared store takes them."}))
}

// openSuppressionOutbox reads the suppressions a previous run left
// pending in dataDir and starts offering them to list every interval.
func openSuppressionOutbox(list suppressionList, l *audit.Log, log *slog.Logger, dataDir string, interval time.Duration, waiting prometheus.Gauge) (*suppressionOutbox, error) {
	o := &suppressionOutbox{list: list, audit: l, log: log, dir: filepath.Join(dataDir, pendingDir), waiting: waiting,
		pending: make(map[string]pendingSuppression), keys: make(map[string]int)}
	if err := safeio.MkdirAll(nil, o.dir, 0o700); err != nil {
		return nil, fmt.Errorf("pending suppressions: %w", err)
	}
	names, err := os.ReadDir(o.dir)
	if err != nil {
		return nil, fmt.Errorf("pending suppressions: %w", err)
	}
	for _, n := range names {
		if !strings.HasSuffix(n.Name(), ".json") || strings.HasPrefix(n.Name(), ".") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(o.dir, n.Name()))
		var p pendingSuppression
		if err == nil {
			err = json.Unmarshal(b, &p)
		}
		if err != nil {
			// Fail closed: a file that cannot be read stops the start
			// rather than losing a suppression.
			return nil, fmt.Errorf("pending suppression %s: %w", n.Name(), err)
		}
		o.add(n.Name(), p)
	}
	o.loop = periodic.Start(context.Background(), interval, true, func(ctx context.Context, _ time.Time) { o.flush(ctx) })
	return o, nil
}

// Suppress puts p's address on the list: in the store and audited if the
// store takes it now, otherwise durably on this node's disk until it
// does. An error means neither happened (the caller fails closed).
func (o *suppressionOutbox) Suppress(ctx context.Context, p pendingSuppression) error {
	if o == nil {
		return errNoSuppressionList
	}
	if p.At.IsZero() {
		p.At = time.Now()
	}
	if strings.TrimSpace(p.Domain) == "" || !strings.Contains(p.Address, "@") || !slices.Contains(store.Reasons, p.Reason) {
		return store.ErrBadSuppression // never kept: the store would refuse it for ever
	}
	err := o.list.Suppress(ctx, store.Suppression{Domain: p.Domain, Address: p.Address, Reason: p.Reason, At: p.At})
	switch {
	case err == nil:
		return o.audit.Suppression(p.Action, strings.ToLower(p.Domain), strings.ToLower(p.Address), p.Reason, p.Actor, p.Remote)
	case errors.Is(err, store.ErrBadSuppression):
		return err
	}
	if o.isPendingAs(p) {
		return nil // one file per address, reason and action: a repeat adds nothing
	}
	name, werr := o.keep(p)
	if werr != nil {
		return errors.Join(err, werr)
	}
	o.log.Warn("suppression kept on this node until the shared store takes it", slog.String("file", name),
		slog.String("reason", p.Reason), slog.String("error", withoutAddresses(err)))
	return nil
}

// keep writes p to a file of its own, fsynced with its folder.
func (o *suppressionOutbox) keep(p pendingSuppression) (string, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return "", err
	}
	var r [8]byte
	rand.Read(r[:])
	name := fmt.Sprintf("%d-%s.json", time.Now().UnixNano(), hex.EncodeToString(r[:]))
	if err := (safeio.Writer{SyncDir: true}).WriteFile(filepath.Join(o.dir, name), b); err != nil {
		return "", fmt.Errorf("pending suppression not written: %w", err)
	}
	o.mu.Lock()
	o.add(name, p)
	o.mu.Unlock()
	return name, nil
}

// flush offers the pending suppressions to the store, oldest first,
// until it refuses one.
func (o *suppressionOutbox) flush(ctx context.Context) {
	o.mu.Lock()
	names := make([]string, 0, len(o.pending))
	for n := range o.pending {
		names = append(names, n)
	}
	o.mu.Unlock()
	slices.Sort(names)
	for _, n := range names {
		o.mu.Lock()
		p, ok := o.pending[n]
		o.mu.Unlock()
		if !ok {
			continue
		}
		err := o.list.Suppress(ctx, store.Suppression{Domain: p.Domain, Address: p.Address, Reason: p.Reason, At: p.At})
		if errors.Is(err, store.ErrBadSuppression) {
			o.log.Error("a pending suppression the store refuses for good is dropped", slog.String("file", n))
			o.drop(n)
			continue
		}
		if err != nil {
			if ctx.Err() == nil {
				o.log.Warn("pending suppressions still wait for the shared store", slog.Int("pending", len(names)),
					slog.String("error", withoutAddresses(err)))
			}
			return
		}
		if err := o.audit.Suppression(p.Action, strings.ToLower(p.Domain), strings.ToLower(p.Address), p.Reason, p.Actor, p.Remote); err != nil {
			o.log.Warn("a pending suppression was applied but not audited; it is kept and offered again", slog.String("file", n))
			return
		}
		if !o.drop(n) {
			return
		}
	}
}

// drop removes a pending file and its entry; false if the file stays.
func (o *suppressionOutbox) drop(n string) bool {
	if err := os.Remove(filepath.Join(o.dir, n)); err != nil && !errors.Is(err, os.ErrNotExist) {
		o.log.Warn("an applied suppression's file was not removed", slog.String("file", n), slog.String("error", err.Error()))
		return false
	}
	o.mu.Lock()
	o.remove(n)
	o.mu.Unlock()
	return true
}

// Suppressed implements smtpd.SuppressionList: an address pending here
// (its domain written in either IDNA form, as the store matches it) is
// suppressed without asking the store; any other is as the store says.
func (o *suppressionOutbox) Suppressed(ctx context.Context, domain, address string) (bool, error) {
	if a, other := store.AddressForms(address); o.isPending(domain, a) || o.isPending(domain, other) {
		return true, nil
	}
	return o.list.Suppressed(ctx, domain, address)
}

func (o *suppressionOutbox) isPending(domain, address string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.keys[pendingKey(domain, address)] > 0
}

// isPendingAs reports whether p's address is pending with p's reason and
// action already, so that a request repeated while the store is down (a
// one-click POST sent again) does not fill the disk.
func (o *suppressionOutbox) isPendingAs(p pendingSuppression) bool {
	k := pendingKey(p.Domain, p.Address)
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.keys[k] == 0 {
		return false
	}
	for _, q := range o.pending {
		if pendingKey(q.Domain, q.Address) == k && q.Reason == p.Reason && q.Action == p.Action {
			return true
		}
	}
	return false
}

// close stops the retries; what is still pending stays on disk for the
// next start.
func (o *suppressionOutbox) close() {
	if o != nil {
		o.loop.Stop()
	}
}
