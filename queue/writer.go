package queue

import (
	"errors"
	"io/fs"
	"log/slog"
	"time"

	"github.com/sealgate/sealgate/internal/batch"
)

// writeReq is one record for the writer goroutine.
type writeReq struct {
	kind    byte
	id      string
	frame   []byte
	durable bool
	done    chan error
	// pre is a record written in the same write just before this one and
	// indexed just after it (spool.appendPair): a handed-over message's
	// state before its message, so a torn write can leave a state without
	// its message, which recovery drops, never a message without its
	// state; a DSN before the bounced message's state that records it.
	pre *writeReq
}

// run is the spool's only writer. It takes every record waiting, appends
// them with one write, and when any of them must be durable, one
// fdatasync covers them all (group commit). Between batches it deletes
// segments nobody needs and copies the last waiting messages out of old
// segments so those can go too.
func (s *spool) run() {
	defer close(s.done)
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case first, ok := <-s.reqs:
			if !ok {
				s.flushDone()
				if act := s.active(); act != nil {
					s.clean(act)
				}
				return
			}
			reqs := batch.Take(first, s.reqs, 512)
			err := s.commit(reqs)
			for _, r := range reqs {
				if err != nil && r.kind == kindDone && !r.durable {
					// Written later: see deferDone.
					s.deferDone(r)
					r.done <- nil
					continue
				}
				r.done <- err
			}
			s.maintain(time.Now())
		case now := <-tick.C:
			s.maintain(now)
		}
	}
}

// commit appends a batch to the active segment, syncs it if needed, and
// only then makes the records visible in the index. A failed write or
// sync is cut off again, and the next batch is written to the same
// segment at the same place: a full disk is a state the spool waits out,
// not a reason to start new files.
func (s *spool) commit(batch []*writeReq) error {
	act, err := s.target()
	if err != nil {
		return err
	}
	var buf []byte
	durable := false
	for _, r := range batch {
		if r.pre != nil {
			buf = append(buf, r.pre.frame...)
		}
		buf = append(buf, r.frame...)
		durable = durable || r.durable
	}
	start := act.size
	if _, err := act.f.WriteAt(buf, start); err != nil {
		s.cutBack(act)
		return s.failed("write", err)
	}
	if durable {
		if err := act.f.Datasync(); err != nil {
			s.cutBack(act)
			return s.failed("sync", err)
		}
	}
	act.size += int64(len(buf))
	s.health.ok()
	s.mu.Lock()
	defer s.mu.Unlock()
	off := start
	for _, r := range batch {
		var pre loc
		if r.pre != nil {
			pre = loc{seg: act, off: off, n: len(r.pre.frame)}
			off += int64(pre.n)
		}
		s.applyLocked(r.kind, r.id, loc{seg: act, off: off, n: len(r.frame)})
		off += int64(len(r.frame))
		if r.pre != nil {
			s.applyLocked(r.pre.kind, r.pre.id, pre)
		}
	}
	return nil
}

// failed records a failed file operation and returns it as a storage
// error.
func (s *spool) failed(op string, err error) error {
	s.health.fail(op, err)
	return &storageError{op: op, err: err}
}

// cutBack removes whatever a failed write left after the segment's last
// good record. When even that fails, the segment is marked dirty and the
// cut is tried again before anything else is written to it.
func (s *spool) cutBack(g *segment) {
	g.dirty = true
	s.clean(g)
}

// clean truncates a dirty segment back to its last good record.
func (s *spool) clean(g *segment) error {
	if !g.dirty {
		return nil
	}
	if err := g.f.Truncate(g.size); err != nil {
		return s.failed("truncate", err)
	}
	g.dirty = false
	return nil
}

// target returns the segment the next batch goes to. A new segment is
// started when the active one is full, and once after the spool is
// opened; if that fails, writing goes on where it is.
func (s *spool) target() (*segment, error) {
	act := s.active()
	if act != nil && !s.fresh && act.size < s.segSize {
		return act, s.clean(act)
	}
	if err := s.rotate(); err != nil {
		if act == nil || act.readOnly {
			return nil, err
		}
		s.log.Warn("spool: cannot start a new segment, appending to the current one", slog.String("error", err.Error()))
		return act, s.clean(act)
	}
	s.fresh = false
	return s.active(), nil
}

// active is the newest segment, nil when there is none.
func (s *spool) active() *segment {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.segs) == 0 {
		return nil
	}
	return s.segs[len(s.segs)-1]
}

// rotate starts a new active segment. The current one is first cut to its
// last good record and synced, so only the newest segment can ever end in
// a torn write.
func (s *spool) rotate() error {
	next := uint64(1)
	if act := s.active(); act != nil {
		next = act.num + 1
		if !act.readOnly {
			if err := s.clean(act); err != nil {
				return err
			}
			if err := act.f.Datasync(); err != nil {
				return s.failed("sync", err)
			}
		}
	}
	g, err := createSegment(s.fs, s.dir, next)
	if err != nil {
		return s.failed("create", err)
	}
	s.mu.Lock()
	s.segs = append(s.segs, g)
	s.mu.Unlock()
	return nil
}

// applyLocked updates the index for one record at l.
func (s *spool) applyLocked(kind byte, id string, l loc) {
	e := s.index[id]
	switch kind {
	case kindMsg:
		if e == nil {
			e = &entry{}
			s.index[id] = e
			if o, ok := s.orphans[id]; ok {
				e.state, e.hasState = o, true
				o.seg.refs++
				delete(s.orphans, id)
			}
		} else {
			e.msg.seg.refs--
		}
		e.msg = l
		l.seg.refs++
	case kindState:
		if e == nil {
			if s.orphans != nil {
				s.orphans[id] = l // the scan may meet the message later
			}
			return // the message is already gone
		}
		if e.hasState {
			e.state.seg.refs--
		}
		e.state, e.hasState = l, true
		l.seg.refs++
	case kindDone:
		delete(s.orphans, id)
		s.dropLocked(id)
	}
}

// dropLocked takes a message out of the index.
func (s *spool) dropLocked(id string) {
	e := s.index[id]
	if e == nil {
		return
	}
	e.msg.seg.refs--
	if e.hasState {
		e.state.seg.refs--
	}
	delete(s.index, id)
}

// deferDone handles a finished message whose 'D' record could not be
// written: it leaves the index now (nothing of it is needed any more) and
// its 'D' is written later, until that succeeds or the segment holding its
// message record is gone, which removes it as surely.
func (s *spool) deferDone(r *writeReq) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.index[r.id]
	if e == nil {
		return
	}
	s.pendingDone[r.id] = pendingDone{frame: r.frame, seg: e.msg.seg.num}
	s.dropLocked(r.id)
}

// pendingDone is a 'D' record waiting to be written.
type pendingDone struct {
	frame []byte
	seg   uint64 // the message record's segment
}

// flushDone writes the 'D' records that failed before.
func (s *spool) flushDone() {
	s.mu.Lock()
	var batch []*writeReq
	oldest := uint64(0)
	if len(s.segs) > 0 {
		oldest = s.segs[0].num
	}
	for id, p := range s.pendingDone {
		if p.seg < oldest {
			delete(s.pendingDone, id)
			continue
		}
		batch = append(batch, &writeReq{kind: kindDone, id: id, frame: p.frame})
	}
	s.mu.Unlock()
	if len(batch) == 0 || s.commit(batch) != nil {
		return
	}
	s.mu.Lock()
	for _, r := range batch {
		delete(s.pendingDone, r.id)
	}
	s.mu.Unlock()
}

// maintain writes postponed records, deletes the oldest segments while
// nothing refers to them, and moves the records of messages still waiting
// in an old segment forward. Segments go strictly oldest first: a newer
// segment may hold the "done" record that keeps an older one's message
// from coming back after a crash.
func (s *spool) maintain(now time.Time) {
	s.flushDone()
	for {
		s.mu.Lock()
		if len(s.segs) < 2 {
			s.mu.Unlock()
			return
		}
		oldest := s.segs[0]
		if oldest.refs > 0 {
			s.mu.Unlock()
			if now.Sub(oldest.created) < s.compactAfter || s.compact(oldest) != nil {
				return
			}
			continue
		}
		s.mu.Unlock()
		if !s.retire(oldest) {
			return
		}
		s.mu.Lock()
		s.segs = s.segs[1:]
		s.mu.Unlock()
	}
}

// retire deletes a segment nothing refers to. One that holds a damaged
// region whose quarantine copy could not be written is moved into
// quarantine/ whole instead (a rename needs no free space); if that fails
// too it stays, and reports false.
func (s *spool) retire(g *segment) bool {
	if len(g.unsaved) > 0 {
		s.saveDamaged(g)
	}
	if len(g.unsaved) == 0 {
		// A segment whose file stays could bring back its messages after
		// a restart, once the newer segment with their 'D' records is
		// gone: it leaves the list only when its file is gone.
		if err := g.remove(); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.health.fail("remove", err)
			return false
		}
		return true
	}
	g.close()
	to := s.quarDir + "/" + segName(g.num) + ".damaged"
	if err := s.fs.Rename(g.path, to); err != nil {
		s.health.fail("quarantine", err)
		s.log.Error("spool: segment with a damaged region kept: it cannot be copied or moved to quarantine",
			slog.String("segment", segName(g.num)), slog.String("error", err.Error()))
		return false
	}
	s.fs.SyncDir(s.quarDir)
	s.fs.SyncDir(s.dir)
	s.log.Warn("spool: segment with a damaged region moved to quarantine whole", slog.String("segment", segName(g.num)))
	return true
}

// compact copies the records of every message that still refers to g into
// the active segment, durably, so g can be deleted: its message record and
// then its newest state record, wherever that is, so the state always
// follows the message in the log and recovery reads them in that order.
// The encrypted frames are copied as they are: their associated data names
// only the kind and the queue ID.
func (s *spool) compact(g *segment) error {
	type move struct {
		kind byte
		id   string
		from loc
	}
	var moves []move
	s.mu.Lock()
	for id, e := range s.index {
		if e.msg.seg != g && !(e.hasState && e.state.seg == g) {
			continue
		}
		moves = append(moves, move{kindMsg, id, e.msg})
		if e.hasState {
			moves = append(moves, move{kindState, id, e.state})
		}
	}
	s.mu.Unlock()
	batch := make([]*writeReq, 0, len(moves))
	for _, m := range moves {
		b, err := m.from.seg.read(m.from.off, m.from.n)
		if err != nil {
			return err
		}
		batch = append(batch, &writeReq{kind: m.kind, id: m.id, frame: b, durable: true})
	}
	if len(batch) == 0 {
		return errNoRecord // inconsistent counts: leave the segment alone
	}
	if err := s.commit(batch); err != nil {
		return err
	}
	g.created = time.Now() // if anything still refers to it, wait again
	return nil
}
