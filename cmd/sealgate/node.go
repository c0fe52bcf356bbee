package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sealgate/sealgate/cluster"
	"github.com/sealgate/sealgate/config"
	"github.com/sealgate/sealgate/control"
	"github.com/sealgate/sealgate/queue"
	"github.com/sealgate/sealgate/safeio"
)

// nodeFile is the node's service state in the data folder: a drain
// survives a restart.
const nodeFile = "node.json"

// How often a drain looks at the spool while delivering, and waits
// before trying the peers again after a failed hand-off.
const (
	drainPoll  = 200 * time.Millisecond
	drainRetry = 5 * time.Second
)

// nodeRecord is what nodeFile holds.
type nodeRecord struct {
	State    string    `json:"state"`
	Since    time.Time `json:"since"`
	Deadline time.Time `json:"deadline,omitzero"`
	Peer     string    `json:"peer,omitempty"`
}

// node takes this gateway out of service and back (control.Node): while
// draining, SMTP answers 421, the API 503, /readyz 503 with the reason;
// the queue delivers until the deadline and then hands the rest to a
// peer over the cluster channel.
type node struct {
	g    *gateway
	path string

	mu        sync.Mutex
	rec       nodeRecord
	phase     string
	handedOff int
	lastErr   string
	cancel    context.CancelFunc
	done      chan struct{}
}

// loadNode reads the node's state; a missing file means serving. A file
// that cannot be read stops the start: a node that was drained must not
// take mail because its record was unreadable.
func loadNode(g *gateway) (*node, error) {
	n := &node{g: g, path: filepath.Join(g.cfg.DataDir, nodeFile), rec: nodeRecord{State: control.NodeServing}}
	b, err := os.ReadFile(n.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return n, nil
	case err != nil:
		return nil, fmt.Errorf("node state %s: %w", n.path, err)
	}
	if err := json.Unmarshal(b, &n.rec); err != nil {
		return nil, fmt.Errorf("node state %s: %w", n.path, err)
	}
	switch n.rec.State {
	case control.NodeServing, control.NodeDraining, control.NodeDrained:
	default:
		return nil, fmt.Errorf("node state %s: unknown state %q", n.path, n.rec.State)
	}
	if n.rec.State != control.NodeServing && g.cfg.Cluster.ResumeOnStart {
		g.log.Info("node was left "+n.rec.State+"; serving again (cluster.resume_on_start)", slog.Time("since", n.rec.Since))
		n.rec = nodeRecord{State: control.NodeServing, Since: time.Now()}
		if err := n.save(n.rec); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// out reports whether the node refuses new mail.
func (n *node) out() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.rec.State != control.NodeServing
}

// state is the node's state: serving, draining or drained.
func (n *node) state() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.rec.State
}

// readiness is the node's part of /readyz.
func (n *node) readiness() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch n.rec.State {
	case control.NodeDraining:
		return errors.New("draining: taken out of service by `sealgate node drain`")
	case control.NodeDrained:
		return errors.New("drained: out of service until `sealgate node resume`")
	}
	return nil
}

// save writes rec durably.
func (n *node) save(rec nodeRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := (safeio.Writer{SyncDir: true}).WriteFile(n.path, append(b, '\n')); err != nil {
		return fmt.Errorf("node state not written: %w", err)
	}
	return nil
}

// start continues a drain the node was in when it stopped; call it once
// every component runs.
func (n *node) start() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.rec.State == control.NodeServing {
		return
	}
	n.g.smtpd.SetDraining(true)
	if n.rec.State == control.NodeDraining {
		n.g.log.Info("node was draining when it stopped: the drain goes on", slog.Time("deadline", n.rec.Deadline))
		n.runLocked()
	}
}

// Drain implements control.Node.
func (n *node) Drain(deadline time.Duration, peer string) (control.NodeStatus, error) {
	if deadline == 0 {
		deadline = n.g.cfg.Cluster.DrainDeadline
	}
	if peer == "" && len(n.g.cfg.Cluster.Peers) == 0 && deadline > 0 {
		n.g.log.Warn("drain without a peer: the node delivers what it holds for as long as it takes")
	}
	n.stop()
	n.mu.Lock()
	defer n.mu.Unlock()
	now := time.Now()
	rec := nodeRecord{State: control.NodeDraining, Since: now, Deadline: now.Add(deadline), Peer: peer}
	if n.rec.State == control.NodeDraining {
		rec.Since = n.rec.Since
	}
	if err := n.save(rec); err != nil {
		return n.statusLocked(), err
	}
	n.rec, n.handedOff, n.lastErr = rec, 0, ""
	n.g.smtpd.SetDraining(true)
	n.g.log.Info("node draining", slog.Time("deadline", rec.Deadline), slog.String("peer", peer))
	n.runLocked()
	return n.statusLocked(), nil
}

// Resume implements control.Node.
func (n *node) Resume() (control.NodeStatus, error) {
	n.stop()
	n.mu.Lock()
	defer n.mu.Unlock()
	rec := nodeRecord{State: control.NodeServing, Since: time.Now()}
	if err := n.save(rec); err != nil {
		return n.statusLocked(), err
	}
	n.rec, n.phase, n.lastErr = rec, "", ""
	n.g.queue.Resume()
	n.g.smtpd.SetDraining(false)
	n.g.log.Info("node serving again")
	return n.statusLocked(), nil
}

// Status implements control.Node.
func (n *node) Status() control.NodeStatus {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.statusLocked()
}

func (n *node) statusLocked() control.NodeStatus {
	return control.NodeStatus{State: n.rec.State, Since: n.rec.Since, Deadline: n.rec.Deadline, Peer: n.rec.Peer,
		Phase: n.phase, Spool: control.SpoolCounts(n.g.queue.Counts()), HandedOff: n.handedOff, LastError: n.lastErr}
}

// runLocked starts the drain's goroutine; n.mu is held. A drain another
// caller started meanwhile is cancelled: one drain runs at a time.
func (n *node) runLocked() {
	if n.cancel != nil {
		n.cancel()
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel, n.done = cancel, make(chan struct{})
	go n.drain(ctx, n.rec, n.done)
}

// stop ends a running drain and waits for it.
func (n *node) stop() {
	n.mu.Lock()
	cancel, done := n.cancel, n.done
	n.cancel, n.done = nil, nil
	n.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// close ends a running drain when the gateway stops; the state stays on
// disk and the drain goes on at the next start.
func (n *node) close() { n.stop() }

func (n *node) setPhase(phase string) {
	n.mu.Lock()
	n.phase = phase
	n.mu.Unlock()
}

// drain delivers until the deadline (everything is made due at once),
// then hands what is left to a peer, trying again until the spool is
// empty; then the node is drained.
func (n *node) drain(ctx context.Context, rec nodeRecord, done chan struct{}) {
	defer close(done)
	q := n.g.queue
	q.Resume()
	q.Flush()
	n.setPhase("delivering")
	for q.Counts().Messages > 0 && time.Now().Before(rec.Deadline) {
		if !sleep(ctx, min(drainPoll, time.Until(rec.Deadline))) {
			return
		}
	}
	for q.Counts().Messages > 0 {
		peers := n.g.cfg.Cluster.Peers
		if rec.Peer != "" {
			peers = []string{rec.Peer}
		}
		if len(peers) == 0 {
			n.setPhase("delivering without a peer")
			if !sleep(ctx, drainPoll) {
				return
			}
			continue
		}
		n.setPhase("handing off")
		q.Pause()
		err := n.handOff(ctx, peers)
		if ctx.Err() != nil {
			q.Resume()
			return
		}
		if err == nil {
			continue
		}
		// Meanwhile the queue delivers what it can itself.
		q.Resume()
		n.setPhase("waiting for a peer")
		if !sleep(ctx, drainRetry) {
			return
		}
	}
	q.Resume()
	n.mu.Lock()
	defer n.mu.Unlock()
	if ctx.Err() != nil {
		return // resumed or drained anew meanwhile
	}
	drained := nodeRecord{State: control.NodeDrained, Since: time.Now(), Peer: rec.Peer}
	if err := n.save(drained); err != nil {
		// Still draining on disk: after a restart the (empty) drain ends again.
		n.g.log.Error("drained, but the state was not written", slog.String("error", err.Error()))
	}
	n.rec, n.phase = drained, "done"
	n.g.log.Info("node drained: the spool is empty", slog.Int("handed_off", n.handedOff))
}

// handOff gives the spool to the first peer that takes it.
func (n *node) handOff(ctx context.Context, peers []string) error {
	var errs []error
	for _, p := range peers {
		err := n.handTo(ctx, p)
		if err == nil {
			n.mu.Lock()
			n.lastErr = ""
			n.mu.Unlock()
			return nil
		}
		n.g.log.Warn("hand-off to a peer failed", slog.String("peer", p), slog.String("error", err.Error()))
		errs = append(errs, fmt.Errorf("%s: %w", p, err))
		n.mu.Lock()
		n.lastErr = errs[len(errs)-1].Error()
		n.mu.Unlock()
	}
	return errors.Join(errs...)
}

// handTo hands the whole spool to one peer over one connection.
func (n *node) handTo(ctx context.Context, peer string) error {
	auth, err := clusterAuth(n.g.cfg.Cluster)
	if err != nil {
		return err
	}
	c, err := cluster.Dial(ctx, peer, auth)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = n.g.queue.HandOff(ctx, func(ctx context.Context, h queue.Handed) error {
		// The hand-off is recorded before the message is offered: one
		// that cannot be recorded is not made, and the message stays.
		if err := n.g.audit.Operator("handed-off", h.Env.ID, "node drain", "requested to "+peer); err != nil {
			return fmt.Errorf("hand-off not recorded in the audit log: %w", err)
		}
		if err := c.Send(ctx, h); err != nil {
			n.g.audit.Operator("handed-off", h.Env.ID, "node drain", "failed")
			return err
		}
		n.mu.Lock()
		n.handedOff++
		n.mu.Unlock()
		// The peer holds the message now; a record that fails here is
		// logged, and the message leaves this spool as the peer's.
		if err := n.g.audit.Operator("handed-off", h.Env.ID, "node drain", "to "+peer); err != nil {
			n.g.log.Error("hand-off done but not recorded", slog.String("queue_id", h.Env.ID), slog.String("error", err.Error()))
		}
		return nil
	})
	return err
}

// sleep waits d or until ctx ends; false when ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// nodeMetrics are the node's state as gauges: sealgate_node_state is 1
// for the current state's label and 0 for the others.
func (n *node) register(reg prometheus.Registerer) {
	for _, s := range []string{control.NodeServing, control.NodeDraining, control.NodeDrained} {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "sealgate_node_state", Help: "1 for the node's service state (serving, draining, drained), 0 for the others.",
			ConstLabels: prometheus.Labels{"state": s}},
			func() float64 {
				n.mu.Lock()
				defer n.mu.Unlock()
				if n.rec.State == s {
					return 1
				}
				return 0
			}))
	}
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "sealgate_node_handed_off", Help: "Messages handed to a peer and acknowledged there in the current drain."},
		func() float64 {
			n.mu.Lock()
			defer n.mu.Unlock()
			return float64(n.handedOff)
		}))
}

// clusterAuth loads the cluster channel's credentials.
func clusterAuth(c config.Cluster) (cluster.Auth, error) {
	return cluster.LoadAuth(c.TLS.Cert, c.TLS.Key, c.TLS.CA, c.SecretFile)
}

// startCluster opens the hand-off listener (cluster.listen): messages a
// draining peer hands over are written to this node's spool, encrypted again
// with its key, and delivered from here. A node that is itself out of
// service takes none.
func (g *gateway) startCluster() error {
	c := g.cfg.Cluster
	if c.Listen == "" {
		return nil
	}
	auth, err := clusterAuth(c)
	if err != nil {
		return err
	}
	s, err := cluster.Listen(cluster.Options{Addr: c.Listen, Auth: auth, Logger: g.log,
		Accepting: g.node.readiness,
		Import: func(h queue.Handed) error {
			// Recorded before the spool takes it: a message this node
			// cannot account for is not acknowledged, and stays with
			// the peer.
			if err := g.audit.Operator("taken-over", h.Env.ID, "cluster peer", "requested"); err != nil {
				return fmt.Errorf("take-over not recorded in the audit log: %w", err)
			}
			err := g.queue.Import(h)
			result := "ok"
			if err != nil {
				result = "failed"
			}
			g.audit.Operator("taken-over", h.Env.ID, "cluster peer", result)
			return err
		}})
	if err != nil {
		return fmt.Errorf("cluster listener: %w", err)
	}
	g.cluster = s
	return nil
}
