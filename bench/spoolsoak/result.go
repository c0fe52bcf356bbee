package main

import (
	"fmt"
	"io"
	"time"
)

// result is what one run saw.
type result struct {
	cycles, want          int // kill -9 cycles done, asked for
	cyclesTook, drainTook time.Duration
	startErr, stopErr     error

	sent, refused, broken int
	accepted              int // answered 250
	delivered             int // accepted and delivered at least once
	lost                  int // accepted and never delivered
	duplicated            int // deliveries beyond the first, of accepted messages
	dupMessages           int // accepted messages delivered more than once
	unacked               int // delivered although the client never saw the 250
}

// collect fills in the counts from the load and the sink.
func (r *result) collect(l *load, s *sink) {
	got := s.counts()
	l.mu.Lock()
	r.sent, r.refused, r.broken = l.sent, l.refused, l.broken
	acked := make(map[string]bool, len(l.acked))
	for id := range l.acked {
		acked[id] = true
	}
	l.mu.Unlock()
	r.accepted = len(acked)
	for id := range acked {
		switch n := got[id]; {
		case n == 0:
			r.lost++
		default:
			r.delivered++
			if n > 1 {
				r.dupMessages++
				r.duplicated += n - 1
			}
		}
	}
	for id := range got {
		if !acked[id] {
			r.unacked++
		}
	}
}

func (r *result) print(w io.Writer) {
	if r.startErr != nil {
		fmt.Fprintf(w, "spool-soak: FAILED: %v\n", r.startErr)
	}
	if r.stopErr != nil {
		fmt.Fprintf(w, "spool-soak: stop: %v\n", r.stopErr)
	}
	fmt.Fprintf(w, "spool-soak: %d of %d kill -9 cycles in %v, drained in %v\n",
		r.cycles, r.want, r.cyclesTook.Round(time.Millisecond), r.drainTook.Round(time.Millisecond))
	fmt.Fprintf(w, "spool-soak: sent %d: %d answered 250, %d refused by a reply, %d cut off by a kill or a closed listener\n",
		r.sent, r.accepted, r.refused, r.broken)
	fmt.Fprintf(w, "spool-soak: of the %d accepted: %d delivered, %d lost; %d extra deliveries of %d messages (duplicates); %d more delivered whose 250 the client never saw\n",
		r.accepted, r.delivered, r.lost, r.duplicated, r.dupMessages, r.unacked)
	fmt.Fprintf(w, "RESULT cycles=%d accepted=%d delivered=%d lost=%d duplicated=%d dup_messages=%d unacked_delivered=%d\n",
		r.cycles, r.accepted, r.delivered, r.lost, r.duplicated, r.dupMessages, r.unacked)
}
