package queue

import (
	"time"

	"golang.org/x/sys/unix"
)

// writeReq is one record for the writer goroutine.
type writeReq struct {
	kind    byte
	id      string
	frame   []byte
	durable bool
	done    chan error
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
				return
			}
			batch := s.drain(first)
			err := s.commit(batch)
			for _, r := range batch {
				r.done <- err
			}
			s.maintain(time.Now())
		case now := <-tick.C:
			s.maintain(now)
		}
	}
}

func (s *spool) drain(first *writeReq) []*writeReq {
	batch := []*writeReq{first}
	for len(batch) < 512 {
		select {
		case r, ok := <-s.reqs:
			if !ok {
				return batch
			}
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

// commit appends a batch to the active segment, syncs it if needed, and
// only then makes the records visible in the index.
func (s *spool) commit(batch []*writeReq) error {
	act := s.active()
	if act.size >= s.segSize {
		if err := s.rotate(); err != nil {
			return err
		}
		act = s.active()
	}
	var buf []byte
	durable := false
	for _, r := range batch {
		buf = append(buf, r.frame...)
		durable = durable || r.durable
	}
	start := act.size
	if _, err := act.f.WriteAt(buf, start); err != nil {
		s.rotate() // never append after a torn write
		return err
	}
	act.size += int64(len(buf))
	if durable {
		if err := unix.Fdatasync(int(act.f.Fd())); err != nil {
			s.rotate()
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	off := start
	for _, r := range batch {
		s.applyLocked(r.kind, r.id, loc{seg: act, off: off, n: len(r.frame)})
		off += int64(len(r.frame))
	}
	return nil
}

func (s *spool) active() *segment {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.segs[len(s.segs)-1]
}

// rotate starts a new active segment.
func (s *spool) rotate() error {
	s.mu.Lock()
	next := uint64(1)
	if n := len(s.segs); n > 0 {
		next = s.segs[n-1].num + 1
	}
	s.mu.Unlock()
	g, err := createSegment(s.dir, next)
	if err != nil {
		return err
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
		} else {
			e.msg.seg.refs--
		}
		e.msg = l
		l.seg.refs++
	case kindState:
		if e == nil {
			return // the message is already gone
		}
		if e.hasState {
			e.state.seg.refs--
		}
		e.state, e.hasState = l, true
		l.seg.refs++
	case kindDone:
		if e == nil {
			return
		}
		e.msg.seg.refs--
		if e.hasState {
			e.state.seg.refs--
		}
		delete(s.index, id)
	}
}

// maintain deletes the oldest segments while nothing refers to them, and
// moves the records of messages still waiting in an old segment forward.
// Segments go strictly oldest first: a newer segment may hold the "done"
// record that keeps an older one's message from coming back after a crash.
func (s *spool) maintain(now time.Time) {
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
		s.segs = s.segs[1:]
		s.mu.Unlock()
		oldest.remove()
	}
}

// compact copies the latest records of every message that still refers to
// g into the active segment, durably, so g can be deleted. The sealed
// frames are copied as they are: their associated data names only the
// kind and the queue ID.
func (s *spool) compact(g *segment) error {
	type move struct {
		kind byte
		id   string
		from loc
	}
	var moves []move
	s.mu.Lock()
	for id, e := range s.index {
		if e.msg.seg == g {
			moves = append(moves, move{kindMsg, id, e.msg})
		}
		if e.hasState && e.state.seg == g {
			moves = append(moves, move{kindState, id, e.state})
		}
	}
	s.mu.Unlock()
	batch := make([]*writeReq, 0, len(moves))
	for _, m := range moves {
		b, err := g.read(m.from.off, m.from.n)
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
