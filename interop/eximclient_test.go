package interop

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// eximCount is how many messages Exim relays through sealgate.
const eximCount = 3

// eximPath hands messages for dest.test to Exim, which relays them to
// sealgate as a smarthost (TLS verified, AUTH PLAIN), and checks each
// arrives at dest.test unchanged and Exim's log shows TLS and AUTH.
func (w *world) eximPath(t *testing.T, r *results) {
	var msgs []outMsg
	for i := range eximCount {
		id := fmt.Sprintf("exim-%d@exim.test", i)
		msgs = append(msgs, outMsg{from: "carl@exim.test", to: "bob@dest.test", id: id,
			data: []byte(fmt.Sprintf("From: Carl <carl@exim.test>\r\nTo: <bob@dest.test>\r\nSubject: Printer %d\r\n"+
				"Message-ID: <%s>\r\nDate: Sun, 06 Dec 2026 10:00:00 +0000\r\n\r\nThe printer on floor %d is fixed.\r\n", i, id, i))})
	}
	inject(t, hostOf(w.ex.addr)+":25", msgs)
	r.eximSent = len(msgs)
	if !waitFor(60*time.Second, func() bool {
		n := 0
		for _, m := range w.mx.inbox(t) {
			if strings.HasPrefix(m.header("Message-ID"), "<exim-") {
				n++
			}
		}
		return n >= eximCount
	}) {
		t.Errorf("not every message Exim relayed arrived in 60 s\nexim:\n%s\nsealgate:\n%s", tail(w.ex.mainlog(), 20), tail(w.gw.log(), 20))
	}
	dest := byID(w.mx.inbox(t))
	for _, m := range msgs {
		got := dest[m.id]
		if len(got) == 0 {
			t.Errorf("%s: not delivered", m.id)
			continue
		}
		r.eximArrived++
		if sameContent(m.data, got[0]) {
			r.eximSame++
		} else {
			t.Errorf("%s: content changed on the way:\n%s", m.id, got[0].data)
		}
	}
	// Exim's delivery lines to sealgate: router, TLS and the authenticator.
	out := regexp.MustCompile(` => bob@dest\.test R=sealgate T=sealgate_smtp H=127\.0\.0\.1 \[127\.0\.0\.1\](:\d+)? X=TLS1\.[23]:\S+ CV=yes A=plain `)
	for _, l := range strings.Split(w.ex.mainlog(), "\n") {
		if out.MatchString(l) {
			r.eximTLSAuth++
		}
	}
	if r.eximTLSAuth != eximCount {
		t.Errorf("Exim's log shows %d deliveries to sealgate with verified TLS and AUTH, want %d\n%s", r.eximTLSAuth, eximCount, grep(w.ex.mainlog(), "=>"))
	}
}
