package main

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sealgate/sealgate/audit"
	"github.com/sealgate/sealgate/internal/batch"
	"github.com/sealgate/sealgate/internal/periodic"
	"github.com/sealgate/sealgate/store"
)

// indexQueue is how many audit records wait at most for the evidence
// index; more are dropped (counted and logged): the index is a finding
// aid, the audit log stays the evidence.
const indexQueue = 4096

// indexBatch is how many waiting records are written in one transaction.
const indexBatch = 256

// indexNote is one acceptance (every recipient) or one outcome.
type indexNote struct {
	accepted bool
	entries  []store.IndexEntry
}

// evidenceIndexer writes the shared store's evidence index from the
// records the gateway appends to its audit log: per recipient, which node
// and audit file hold the acceptance and the latest outcome. It writes
// asynchronously, in batches, so the audit log never waits for the
// store; a record it cannot write is counted
// (sealgate_evidence_index_failures_total) and logged without addresses.
type evidenceIndexer struct {
	db       *store.DB
	node     string
	log      *slog.Logger
	failures prometheus.Counter
	ch       chan indexNote
	done     chan struct{}
	once     sync.Once
	prune    *periodic.Loop // nil until startPruning
}

// pruneInterval is how often rows older than the retention are deleted.
const pruneInterval = time.Hour

// startPruning deletes the index rows older than retention (by the
// recipient's acceptance and last outcome) now and every pruneInterval,
// until close. Every node prunes; a delete another node did first finds
// nothing.
func (x *evidenceIndexer) startPruning(retention time.Duration) {
	x.prune = periodic.Start(context.Background(), pruneInterval, true, func(ctx context.Context, now time.Time) {
		n, err := x.db.PruneIndex(ctx, now.Add(-retention))
		if err != nil && ctx.Err() == nil {
			x.log.Warn("evidence index: old rows not deleted", "deleted", n, "error", withoutAddresses(err))
			return
		}
		if n > 0 {
			x.log.Info("evidence index: rows past store.evidence_index_retention deleted", "deleted", n)
		}
	})
}

// indexFailures registers sealgate_evidence_index_failures_total (on
// every gateway, at 0 without a shared store, so alert rules find it).
func indexFailures(reg prometheus.Registerer) prometheus.Counter {
	return registerOnce(reg, prometheus.NewCounter(prometheus.CounterOpts{Name: "sealgate_evidence_index_failures_total",
		Help: "Recipient records the evidence index in the shared store could not take (dropped or failed writes); the audit log holds them."}))
}

// registerOnce registers c with reg, or returns the collector registered
// before under its name: a gateway started again in the same process
// (after standby) keeps the one it registered.
func registerOnce[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		if are, ok := err.(prometheus.AlreadyRegisteredError); ok {
			if old, ok := are.ExistingCollector.(C); ok {
				return old
			}
		}
	}
	return c
}

// startEvidenceIndex indexes the gateway's audit records in db.
func startEvidenceIndex(db *store.DB, l *audit.Log, node string, log *slog.Logger, failures prometheus.Counter) *evidenceIndexer {
	x := &evidenceIndexer{db: db, node: node, log: log, ch: make(chan indexNote, indexQueue), done: make(chan struct{}),
		failures: failures}
	go x.run()
	l.SetObserver(x.observe)
	return x
}

// observe implements audit.Observer: it never blocks.
func (x *evidenceIndexer) observe(seq uint64, file string, e audit.Event) {
	n := indexNote{accepted: e.Event == "accepted"}
	switch e.Event {
	case "accepted":
		for _, r := range e.Rcpts {
			n.entries = append(n.entries, store.IndexEntry{QueueID: e.QueueID, Rcpt: r, Node: x.node, AuditFile: file,
				Accepted: e.Time, AcceptedSeq: seq, Client: e.Client})
		}
	case "delivery", "expired":
		n.entries = []store.IndexEntry{{QueueID: e.QueueID, Rcpt: e.Rcpt, Method: e.Method, Result: e.Result,
			ResultAt: e.Time, ResultNode: x.node, ResultFile: file, ResultSeq: seq}}
	default:
		return
	}
	if len(n.entries) == 0 {
		return
	}
	select {
	case x.ch <- n:
	default:
		x.failures.Add(float64(len(n.entries)))
		x.log.Warn("evidence index: queue full, record not indexed (the audit log holds it)", "queue_id", e.QueueID)
	}
}

// run writes what waits, a batch at a time, until close.
func (x *evidenceIndexer) run() {
	defer close(x.done)
	batch.Run(x.ch, indexBatch, x.write)
}

// write stores a batch: runs of acceptances and of outcomes in order, so
// a recipient's acceptance is written before its outcomes.
func (x *evidenceIndexer) write(batch []indexNote) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := 0; i < len(batch); {
		j, entries := i, []store.IndexEntry(nil)
		for ; j < len(batch) && batch[j].accepted == batch[i].accepted; j++ {
			entries = append(entries, batch[j].entries...)
		}
		write := x.db.IndexOutcome
		if batch[i].accepted {
			write = x.db.IndexAccepted
		}
		if err := write(ctx, entries); err != nil {
			x.failures.Add(float64(len(entries)))
			x.log.Error("evidence index: write failed (the audit log holds the records)", "records", len(entries), "error", withoutAddresses(err))
		}
		i = j
	}
}

// withoutAddresses is an error's text unless it names an address (a
// database may quote the row it refused).
func withoutAddresses(err error) string {
	if s := err.Error(); !strings.Contains(s, "@") {
		return s
	}
	return "(the error's text names an address and is withheld)"
}

// close stops indexing and writes what waits.
func (x *evidenceIndexer) close(l *audit.Log) {
	if x == nil {
		return
	}
	x.once.Do(func() {
		if x.prune != nil {
			x.prune.Stop()
		}
		l.SetObserver(nil)
		close(x.ch)
		<-x.done
	})
}
