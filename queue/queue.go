package queue

import (
	"container/heap"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sealgate/sealgate/mail"
)

// Config is what a Queue needs. Dir and Key are required.
type Config struct {
	Dir      string // spool directory
	Key      []byte // AES-256 spool key (LoadOrCreateKey)
	Courier  mail.Courier
	Hostname string // for DSNs
	Schedule []time.Duration
	MaxAge   time.Duration
	// Workers is the number of messages delivered at the same time.
	Workers int
	// Bulk, when non-nil, reports whether a client (Envelope.Client)
	// sends campaigns. Its due messages go to workers only when no other
	// message is due, and occupy at most all but an eighth of them (see
	// bulkWorkers), so a campaign never queues an appointment reminder
	// behind it. nil: one order for all mail.
	Bulk func(client string) bool
	// MinFree is the free space, in bytes, the spool's file system keeps
	// for state records and DSNs: below it, new mail is refused with
	// ErrInsufficientStorage (smtpd answers 452 4.3.1) while deliveries,
	// state updates and DSNs go on. 0 keeps no reserve.
	MinFree    int64
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Audit      Auditor

	// fs is the file system under the spool; nil means the real one.
	fs fileSystem
	// segSize and compactAfter override the spool's defaults in tests.
	segSize      int64
	compactAfter time.Duration
}

// Auditor receives events for the audit log: a message sealgate wrote
// itself entering the spool (Submit), and each delivery attempt. It must
// not block.
type Auditor interface {
	Accepted(env *mail.Envelope)
	Delivery(env *mail.Envelope, o mail.Outcome, attempt int)
}

// ExpiryAuditor is an Auditor that is also told of each recipient failed
// because its message stayed in the queue past MaxAge: the recipient
// bounces (4.4.7) without another attempt. Optional; it must not block.
type ExpiryAuditor interface {
	Expired(env *mail.Envelope, rcpt string, attempts int)
}

// Queue is the durable outbound queue: a spool on disk and a scheduler
// that hands due messages to the Courier.
type Queue struct {
	cfg    Config
	sp     *spool
	log    *slog.Logger
	m      *metrics
	health *storageHealth

	mu    sync.Mutex
	items map[string]*item
	due   itemHeap
	bulk  itemHeap // due campaign mail (Config.Bulk), served after due
	// bulkRunning counts campaign messages being delivered.
	bulkRunning int
	closed      bool
	// paused: no new attempts are started (Pause), for a hand-off.
	paused bool
	// gate lets spool writers from outside the delivery goroutines
	// (Enqueue, operators) finish before the spool closes.
	gate sync.RWMutex

	wake     chan struct{}
	sem      chan struct{}
	ctx      context.Context
	cancel   context.CancelFunc
	inflight sync.WaitGroup
	loopDone chan struct{}
}

type item struct {
	env *mail.Envelope
	// st is the published state (read by List and the heap); cur is the
	// working copy of a running attempt, published when it ends.
	st       *mail.State
	cur      *mail.State
	body     []byte // nil when not held in memory
	index    int    // in the due heap, -1 when not there
	running  bool
	deleted  bool
	attempts int
	// dsn is this message's DSN, found in the spool on recovery without
	// the state that records it; it is scheduled once DSNDone is durable
	// in this message's state (linkDSNs, releaseDSN).
	dsn *item
}

// New opens the spool. Call Start to recover it and begin delivering.
func New(cfg Config) (*Queue, error) {
	if cfg.Courier == nil {
		return nil, errors.New("queue: no courier")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 64
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = mail.DefaultMaxAge
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	m := newMetrics(cfg.Registerer)
	health := &storageHealth{onFail: func(op string) { m.storageErrors.WithLabelValues(op).Inc() }}
	sp, err := openSpool(spoolConfig{fs: cfg.fs, dir: cfg.Dir, key: cfg.Key, log: cfg.Logger, health: health,
		segSize: cfg.segSize, compactAfter: cfg.compactAfter})
	if err != nil {
		return nil, err
	}
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "sealgate_queue_segments", Help: "Spool segment files on disk."},
			func() float64 { return float64(sp.segments()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "sealgate_queue_free_bytes", Help: "Free bytes on the spool's file system (statfs, for unprivileged writers)."},
				func() float64 { free, _ := sp.fs.Free(cfg.Dir); return float64(free) }))
	}
	return &Queue{
		cfg: cfg, sp: sp, log: cfg.Logger, m: m, health: health,
		items: map[string]*item{}, wake: make(chan struct{}, 1),
		sem: make(chan struct{}, cfg.Workers), loopDone: make(chan struct{}),
	}, nil
}

// NewID returns a fresh queue ID (mail.NewID).
func NewID() string { return mail.NewID() }

func validID(id string) bool {
	if len(id) != 24 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil
}

// Start recovers every message in the spool and starts the scheduler.
func (q *Queue) Start(ctx context.Context) error {
	q.ctx, q.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if err := q.recover(); err != nil {
		return err
	}
	go q.loop()
	return nil
}

func (q *Queue) recover() error {
	ids, err := q.sp.list()
	if err != nil {
		return fmt.Errorf("queue recovery: %w", err)
	}
	now := time.Now()
	var items []*item
	for _, id := range ids {
		it, err := q.load(id, now)
		switch {
		case err == nil:
			items = append(items, it)
		case isDamaged(err):
			q.quarantine(id, err)
		default:
			q.log.Error("queued message unreadable now, left in the spool for the next start",
				slog.String("queue_id", id), slog.String("error", err.Error()))
		}
	}
	for _, it := range q.linkDSNs(items) {
		q.add(it)
	}
	if n := q.sp.corrupt; n > 0 {
		q.m.quarantined.Add(float64(n))
		q.log.Error("damaged spool regions found", slog.Int("regions", n))
	}
	q.log.Info("queue recovered", slog.Int("messages", len(items)))
	return nil
}

// load reads one queued message's envelope and latest state.
func (q *Queue) load(id string, now time.Time) (*item, error) {
	env, _, err := q.sp.readMessage(id)
	if err != nil {
		return nil, err
	}
	st, err := q.sp.readState(id, env)
	if err != nil {
		return nil, err
	}
	if st == nil {
		st = newState(env, now)
	}
	if !st.Pending() {
		// Finished before the crash, not yet removed: removed (and
		// bounced, if that was not recorded) now, not at its next retry.
		st.NextAttempt = now
	}
	return &item{env: env, st: st, index: -1}, nil
}

// linkDSNs marks a message whose DSN is already queued as bounced: a torn
// write left the DSN without the state that records it (see
// spool.writeBounce), or an older sealgate wrote the two apart. The mark
// is written durably before the DSN can be delivered; when that write
// fails (a full disk), the DSN waits with the message (item.dsn) until
// the mark is on disk, so that it is sent once. It returns the items to
// schedule: all but the DSNs that wait.
func (q *Queue) linkDSNs(items []*item) []*item {
	dsnOf := map[string]*item{}
	for _, it := range items {
		if it.env.DSN && it.env.DSNOf != "" {
			dsnOf[it.env.DSNOf] = it
		}
	}
	waiting := map[*item]bool{}
	for _, it := range items {
		d := dsnOf[it.env.ID]
		if d == nil || it.st.DSNDone {
			continue
		}
		it.st.DSNDone = true
		if err := q.sp.writeState(it.env.ID, it.st, true); err != nil {
			q.log.Warn("bounce mark not written; its DSN waits for it", slog.String("queue_id", it.env.ID),
				slog.String("dsn_id", d.env.ID), slog.String("error", err.Error()))
			it.dsn, waiting[d] = d, true
		}
	}
	if len(waiting) == 0 {
		return items
	}
	return slices.DeleteFunc(items, func(it *item) bool { return waiting[it] })
}

// releaseDSN writes the mark of a message whose DSN waits for it
// (linkDSNs) and then schedules the DSN.
func (q *Queue) releaseDSN(it *item) error {
	if it.dsn == nil {
		return nil
	}
	if err := q.saveState(it, true); err != nil {
		return fmt.Errorf("bounce mark not written: %w", err)
	}
	q.add(it.dsn)
	it.dsn = nil
	return nil
}

// quarantine copies a message's records to quarantine/ and removes it
// from the spool. When that fails it says so and returns the error: the
// message stays where it is.
func (q *Queue) quarantine(id string, cause error) error {
	if err := q.sp.quarantine(id); err != nil {
		q.log.Error("quarantine failed, message kept in the queue", slog.String("queue_id", id),
			slog.String("cause", cause.Error()), slog.String("error", err.Error()))
		return err
	}
	q.m.quarantined.Inc()
	q.log.Error("queue entry quarantined", slog.String("queue_id", id), slog.String("error", cause.Error()))
	return nil
}

// Enqueue makes a new message durable and schedules it. It returns only
// after the spool file and its directory entry are on disk: the caller may
// then answer 250. Below Config.MinFree, and when the spool's file system
// cannot take the message, the error matches ErrInsufficientStorage.
func (q *Queue) Enqueue(ctx context.Context, env *mail.Envelope, body []byte) (string, error) {
	if err := q.CheckSpace(int64(len(body))); err != nil {
		return "", fmt.Errorf("queue: %w", err)
	}
	if err := q.enqueue(env, body, nil); err != nil {
		return "", err
	}
	q.add(&item{env: env, st: newState(env, env.Received), body: body, index: -1})
	return env.ID, nil
}

// CheckSpace returns an error matching ErrInsufficientStorage when a new
// message of size bytes would leave less than Config.MinFree free on the
// spool's file system. When free space cannot be read it returns nil: the
// write itself will tell.
func (q *Queue) CheckSpace(size int64) error {
	if q.cfg.MinFree <= 0 && size <= 0 {
		return nil
	}
	free, err := q.sp.fs.Free(q.cfg.Dir)
	if err != nil {
		return nil
	}
	if free-size < q.cfg.MinFree {
		return &reserveError{free: free, floor: q.cfg.MinFree}
	}
	return nil
}

// Storage says why the spool cannot take new mail now, for /readyz: a
// file operation failed in the last ten seconds and nothing was written
// since, or the file system is below Config.MinFree. nil means healthy.
// The text names the condition, never a file or message.
func (q *Queue) Storage() error {
	if err := q.health.status(time.Now()); err != nil {
		return fmt.Errorf("spool storage failing: %s", errnoText(err))
	}
	return q.CheckSpace(0)
}

// enqueue writes a new message durably; it does not schedule it. With
// mark set, the message is the DSN about the message mark names and is
// written together with that message's final state (spool.writeBounce);
// it may use the reserve below Config.MinFree.
func (q *Queue) enqueue(env *mail.Envelope, body []byte, mark *bounceMark) error {
	if !q.enter() {
		return mail.ErrQueueClosed
	}
	defer q.gate.RUnlock()
	if env.ID == "" {
		env.ID = NewID()
	}
	env.Version = metaVersion
	if env.Received.IsZero() {
		env.Received = time.Now()
	}
	if len(env.Rcpts) == 0 {
		return errors.New("queue: message without recipients")
	}
	var err error
	if mark != nil {
		err = q.sp.writeBounce(env, body, mark.id, mark.st)
	} else {
		err = q.sp.writeMessage(env, body)
	}
	if err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	q.m.enqueued.Inc()
	return nil
}

func (q *Queue) add(it *item) {
	q.mu.Lock()
	q.items[it.env.ID] = it
	if !it.st.Held {
		heap.Push(q.heapOf(it), it)
	}
	q.m.size.Set(float64(len(q.items)))
	q.mu.Unlock()
	q.poke()
}

func (q *Queue) poke() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Close stops scheduling, waits for deliveries in flight until ctx ends,
// then cancels them. Messages not delivered stay in the spool.
func (q *Queue) Close(ctx context.Context) error {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	if q.cancel == nil {
		q.gate.Lock()
		q.sp.close()
		q.gate.Unlock()
		return nil
	}
	q.poke()
	<-q.loopDone
	done := make(chan struct{})
	go func() { q.inflight.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		q.cancel()
		<-done
		err = ctx.Err()
	}
	q.cancel()
	q.gate.Lock() // wait for writers that got in before the close
	q.sp.close()
	q.gate.Unlock()
	return err
}

// enter admits a writer to the spool unless the queue is closing; the
// caller must q.gate.RUnlock() when it returns true.
func (q *Queue) enter() bool {
	q.gate.RLock()
	q.mu.Lock()
	closed := q.closed
	q.mu.Unlock()
	if closed {
		q.gate.RUnlock()
	}
	return !closed
}
