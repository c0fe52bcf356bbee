package queue

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sealgate/sealgate/mail"
)

// The crash-consistency test runs a workload on the recording file
// system once, then replays its operations one by one. After every
// operation — every write and sync, and every step between them — it
// builds what a crash at that moment could leave (see imageKind), recovers
// a queue from it, delivers everything, and checks the promises:
//
//   - every message acknowledged before the crash is delivered to every
//     recipient that does not bounce, and each bounce gets its DSN;
//   - a recipient delivered before the crash is delivered again only when
//     the crash left no record of it (no 'D' record and no state record
//     saying delivered): the documented duplicate;
//   - one DSN per bounced message (one DSN queue ID; the same DSN handed
//     over twice is the documented duplicate of that DSN);
//   - a message released from hold before the crash is not held again;
//   - nothing is quarantined: no healthy record, and no torn write.

// crashMsg is one message of the workload.
type crashMsg struct {
	rcpts []string
	hold  bool
}

var crashMessages = []crashMsg{
	{rcpts: []string{"a@ok.example"}},
	{rcpts: []string{"b@ok.example", "c@slow.example"}},
	{rcpts: []string{"d@gone.example"}},
	{rcpts: []string{"e@ok.example"}, hold: true},
	{rcpts: []string{"f@slow.example"}},
	{rcpts: []string{"g@ok.example", "h@gone.example"}},
	{rcpts: []string{"i@ok.example"}},
	{rcpts: []string{"j@slow.example", "k@ok.example", "l@gone.example"}},
	{rcpts: []string{"m@ok.example"}},
	{rcpts: []string{"n@ok.example"}},
}

// crashCourier delivers ok.example, defers slow.example twice per message
// then delivers it, and bounces gone.example. It marks, in the file
// system's log, every recipient and DSN it hands over.
type crashCourier struct {
	m     *memFS
	mu    sync.Mutex
	tries map[string]int
}

var dsnOfRe = regexp.MustCompile(`X-Sealgate-Queue-ID: ([0-9a-f]{24})`)

func (c *crashCourier) Deliver(_ context.Context, d *mail.Delivery) []mail.Outcome {
	var out []mail.Outcome
	for _, r := range d.Rcpts {
		o := mail.Outcome{Rcpt: r.Addr, Code: 250}
		switch domainOf(r.Addr) {
		case "slow.example":
			c.mu.Lock()
			c.tries[d.QueueID+r.Addr]++
			n := c.tries[d.QueueID+r.Addr]
			c.mu.Unlock()
			if n <= 2 {
				o = mail.Outcome{Rcpt: r.Addr, Err: errors.New("451 later"), Code: 451}
			}
		case "gone.example":
			o = mail.Outcome{Rcpt: r.Addr, Err: errors.New("550 5.1.1 no such user"), Permanent: true, Code: 550, Enhanced: "5.1.1"}
		}
		if o.Err == nil {
			c.m.mark("%s", handedOver(d, r.Addr))
		}
		out = append(out, o)
	}
	return out
}

// handedOver names one successful hand-over: "deliver|ID|RCPT" or, for a
// DSN, "dsn|DSN-ID|ORIGINAL-ID".
func handedOver(d *mail.Delivery, rcpt string) string {
	if d.From == "" {
		orig := ""
		if m := dsnOfRe.FindSubmatch(d.Body); m != nil {
			orig = string(m[1])
		}
		return "dsn|" + d.QueueID + "|" + orig
	}
	return "deliver|" + d.QueueID + "|" + rcpt
}

// crashWorkload accepts the messages, delivers, defers and bounces them,
// releases the held one, and lets compaction and segment deletion run
// (small segments, no compaction delay). It returns the recorded log.
func crashWorkload(t *testing.T) []fsOp {
	m := newMemSpool()
	m.rec = true
	if err := runWorkload(m, false, nil); err != nil {
		t.Fatal(err)
	}
	return m.log
}

// runWorkload runs the workload on m, marking what it does in m's log.
// With faulty set, file operations may fail: a message whose Enqueue
// fails is not acknowledged, and the release from hold is tried until it
// works. It returns once the queue is empty and closed.
func runWorkload(m *memFS, faulty bool, beforeClose func()) error {
	c := &crashCourier{m: m, tries: map[string]int{}}
	q, err := New(Config{Dir: "/spool", Key: testKey, Courier: c, Hostname: "gw.example.org",
		Schedule: []time.Duration{2 * time.Millisecond}, Workers: 4, fs: m, segSize: 1500, compactAfter: -1})
	if err != nil {
		return fmt.Errorf("New: %v", err)
	}
	if err := q.Start(context.Background()); err != nil {
		return fmt.Errorf("Start: %v", err)
	}
	defer q.Close(context.Background())
	if beforeClose != nil {
		defer beforeClose()
	}
	var held string
	for _, cm := range crashMessages {
		e := &mail.Envelope{From: "lab@ok.example", Client: "ehr", Hold: cm.hold}
		for _, r := range cm.rcpts {
			e.Rcpts = append(e.Rcpts, mail.Rcpt{Addr: r})
		}
		id, err := q.Enqueue(context.Background(), e, testMsg())
		if err != nil && faulty {
			continue
		}
		if err != nil {
			return fmt.Errorf("Enqueue: %v", err)
		}
		m.mark("ack|%s|%s", id, strings.Join(cm.rcpts, ","))
		if cm.hold {
			held = id
		}
	}
	left := 0
	if held != "" {
		left = 1
	}
	if err := waitUntil(30*time.Second, func() bool { return len(q.List()) == left }); err != nil {
		return fmt.Errorf("the workload's deliveries: %v", err)
	}
	if held != "" {
		if err := waitUntil(10*time.Second, func() bool { return q.Retry(held) == nil }); err != nil {
			return fmt.Errorf("release from hold: %v", err)
		}
		m.mark("release|%s", held)
	}
	if err := waitUntil(30*time.Second, func() bool { return len(q.List()) == 0 }); err != nil {
		return fmt.Errorf("the released message: %v", err)
	}
	return nil
}

// waitUntil polls cond every 200us until it holds or d has passed. The limits its
// callers give are generous, for a loaded machine; a run that passes returns as soon
// as the condition holds.
func waitUntil(d time.Duration, cond func() bool) error {
	for deadline := time.Now().Add(d); !cond(); time.Sleep(200 * time.Microsecond) {
		if time.Now().After(deadline) {
			return fmt.Errorf("not done after %v", d)
		}
	}
	return nil
}

// expectation is what the workload had done before a crash point.
type expectation struct {
	acked     map[string][]string        // queue ID → recipients
	delivered map[string]bool            // "ID|RCPT" handed over
	released  map[string]bool            // released from hold
	dsns      map[string]map[string]bool // original ID → DSN IDs handed over
}

func newExpectation() *expectation {
	return &expectation{acked: map[string][]string{}, delivered: map[string]bool{},
		released: map[string]bool{}, dsns: map[string]map[string]bool{}}
}

func (e *expectation) note(mark string) {
	f := strings.Split(mark, "|")
	switch f[0] {
	case "ack":
		e.acked[f[1]] = strings.Split(f[2], ",")
	case "deliver":
		e.delivered[f[1]+"|"+f[2]] = true
	case "release":
		e.released[f[1]] = true
	case "dsn":
		if e.dsns[f[2]] == nil {
			e.dsns[f[2]] = map[string]bool{}
		}
		e.dsns[f[2]][f[1]] = true
	}
}

func (e *expectation) clone() *expectation {
	c := newExpectation()
	for k, v := range e.acked {
		c.acked[k] = v
	}
	for k := range e.delivered {
		c.delivered[k] = true
	}
	for k := range e.released {
		c.released[k] = true
	}
	for k, v := range e.dsns {
		c.dsns[k] = map[string]bool{}
		for d := range v {
			c.dsns[k][d] = true
		}
	}
	return c
}

// crashPoint is one image to check.
type crashPoint struct {
	label string
	img   *memFS
	exp   *expectation
}

func TestCrashConsistency(t *testing.T) {
	t.Parallel()
	log := crashWorkload(t)
	seed := uint64(time.Now().UnixNano())
	kinds := map[string]int{}
	for _, op := range log {
		kinds[op.kind]++
	}
	t.Logf("recorded %d writes, %d syncs, %d directory syncs, %d creates, %d removals, %d truncations; torn images seeded with %d",
		kinds["write"], kinds["sync"], kinds["syncdir"], kinds["create"], kinds["remove"], kinds["truncate"], seed)
	if kinds["sync"] < len(crashMessages) || kinds["remove"] == 0 {
		t.Fatalf("the workload did not exercise the spool: %v", kinds)
	}

	points := make(chan crashPoint, 16)
	var mu sync.Mutex
	var failures, checked int
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range points {
				err := checkCrashImage(p.img, p.exp)
				mu.Lock()
				checked++
				if err != nil && failures < 5 {
					failures++
					t.Errorf("crash %s: %v", p.label, err)
				}
				mu.Unlock()
			}
		}()
	}
	sim := newMemSpool()
	exp := newExpectation()
	seen := map[[32]byte]bool{}
	marks := 0
	for i, op := range log {
		if op.kind == "mark" {
			exp.note(op.mark)
			marks++
			continue
		}
		sim.apply(op)
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		for _, k := range []imageKind{afterKill, afterPowerLoss, afterTornPowerLoss, afterTornPowerLoss} {
			img := sim.image(k, rng.IntN)
			key := img.fingerprint(marks)
			if seen[key] {
				continue
			}
			seen[key] = true
			points <- crashPoint{label: fmt.Sprintf("after operation %d (%s %s), %s", i, op.kind, filepath.Base(op.path), k),
				img: img, exp: exp.clone()}
		}
	}
	close(points)
	wg.Wait()
	t.Logf("%d distinct crash images recovered and checked", checked)
	// Every write changes at least the kill -9 image.
	if checked < kinds["write"] {
		t.Fatalf("only %d images for %d writes", checked, kinds["write"])
	}
}

// fingerprint identifies a file system's content together with how much
// of the workload had been seen.
func (m *memFS) fingerprint(marks int) [32]byte {
	h := sha256.New()
	binary.Write(h, binary.BigEndian, int64(marks))
	var names []string
	for p, d := range m.dirs {
		for name := range d.names {
			names = append(names, filepath.Join(p, name))
		}
	}
	slices.Sort(names)
	for _, n := range names {
		h.Write([]byte(n))
		d := m.dirs[filepath.Dir(n)]
		h.Write(m.inodes[d.names[filepath.Base(n)]].data)
		h.Write([]byte{0})
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// evidence is what a crash image records about finished work: messages
// with a 'D' record, and recipients a state record calls delivered.
type evidence struct {
	done      map[string]bool
	delivered map[string]bool // "ID|RCPT"
}

// readEvidence parses every segment of an image the way recovery does, up
// to the first record that does not authenticate in each.
func readEvidence(img *memFS) (*evidence, error) {
	ev := &evidence{done: map[string]bool{}, delivered: map[string]bool{}}
	s, err := newSpoolCrypt(testKey)
	if err != nil {
		return nil, err
	}
	for name, data := range img.files("/spool") {
		if _, ok := parseSegName(name); !ok {
			continue
		}
		for off := 0; off < len(data); {
			h, err := parseHeader(data[off:])
			if err != nil || off+headerLen+h.n > len(data) {
				break
			}
			plain, err := s.decrypt(recordAAD(h.kind, h.id), data[off+headerLen:off+headerLen+h.n])
			if err != nil {
				break
			}
			switch h.kind {
			case kindDone:
				ev.done[h.id] = true
			case kindState:
				var st mail.State
				if err := jsonUnmarshal(plain, &st); err != nil {
					return nil, err
				}
				for _, r := range st.Rcpts {
					if r.Status == mail.StatusDelivered {
						ev.delivered[h.id+"|"+r.Addr] = true
					}
				}
			}
			off += headerLen + h.n
		}
	}
	return ev, nil
}

// drainCourier delivers everything except gone.example, which bounces.
type drainCourier struct {
	mu   sync.Mutex
	got  map[string]int             // "ID|RCPT" deliveries
	dsns map[string]map[string]bool // original ID → DSN IDs
}

func (c *drainCourier) Deliver(_ context.Context, d *mail.Delivery) []mail.Outcome {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []mail.Outcome
	for _, r := range d.Rcpts {
		if domainOf(r.Addr) == "gone.example" {
			out = append(out, mail.Outcome{Rcpt: r.Addr, Err: errors.New("550 5.1.1 no such user"), Permanent: true, Code: 550, Enhanced: "5.1.1"})
			continue
		}
		f := strings.Split(handedOver(d, r.Addr), "|")
		if f[0] == "dsn" {
			if c.dsns[f[2]] == nil {
				c.dsns[f[2]] = map[string]bool{}
			}
			c.dsns[f[2]][f[1]] = true
		} else {
			c.got[f[1]+"|"+f[2]]++
		}
		out = append(out, mail.Outcome{Rcpt: r.Addr, Code: 250})
	}
	return out
}

// checkCrashImage recovers a queue from img, delivers everything and
// checks the promises against what happened before the crash.
func checkCrashImage(img *memFS, exp *expectation) error {
	return checkRecovery(img, exp, false)
}

// checkRecovery starts a queue on img, delivers everything and verifies.
func checkRecovery(img *memFS, exp *expectation, strict bool) error {
	ev, err := readEvidence(img)
	if err != nil {
		return fmt.Errorf("reading the image: %v", err)
	}
	c := &drainCourier{got: map[string]int{}, dsns: map[string]map[string]bool{}}
	q, err := New(Config{Dir: "/spool", Key: testKey, Courier: c, Hostname: "gw.example.org",
		Schedule: []time.Duration{time.Millisecond}, fs: img})
	if err != nil {
		return fmt.Errorf("recovery: New: %v", err)
	}
	if err := q.Start(context.Background()); err != nil {
		return fmt.Errorf("recovery: Start: %v", err)
	}
	defer q.Close(context.Background())
	if q.sp.corrupt != 0 {
		return fmt.Errorf("recovery found %d damaged regions", q.sp.corrupt)
	}
	for _, info := range q.List() {
		if info.Held && exp.released[info.ID] {
			return fmt.Errorf("message %s released before the crash is held again", info.ID)
		}
		if info.Held {
			q.Retry(info.ID)
		}
	}
	q.Flush()
	if err := waitUntil(20*time.Second, func() bool { return len(q.List()) == 0 }); err != nil {
		return fmt.Errorf("%d messages still queued: %v", len(q.List()), err)
	}
	if n := len(img.files("/spool/quarantine")); n != 0 {
		return fmt.Errorf("%d files in quarantine", n)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return exp.verify(ev, c, strict)
}

// verify checks the deliveries after recovery against what happened
// before. With strict set (no crash happened) nothing may be delivered
// twice.
func (exp *expectation) verify(ev *evidence, c *drainCourier, strict bool) error {
	for id, rcpts := range exp.acked {
		bounced := false
		for _, r := range rcpts {
			key := id + "|" + r
			if domainOf(r) == "gone.example" {
				bounced = true
				continue
			}
			if !exp.delivered[key] && c.got[key] == 0 {
				return fmt.Errorf("acknowledged message %s never delivered to %s", id, r)
			}
			if exp.delivered[key] && c.got[key] > 0 && (strict || ev.done[id] || ev.delivered[key]) {
				return fmt.Errorf("message %s delivered again to %s although the crash left its record", id, r)
			}
		}
		dsnIDs := map[string]bool{}
		for d := range exp.dsns[id] {
			dsnIDs[d] = true
		}
		for d := range c.dsns[id] {
			dsnIDs[d] = true
		}
		switch {
		case bounced && len(dsnIDs) == 0:
			return fmt.Errorf("bounced message %s got no DSN", id)
		case len(dsnIDs) > 1:
			return fmt.Errorf("message %s got %d DSNs", id, len(dsnIDs))
		case !bounced && len(dsnIDs) > 0:
			return fmt.Errorf("message %s without a bounce got a DSN", id)
		}
	}
	return nil
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
