package queue

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/sealgate/sealgate/mail"
)

// spool is the on-disk part of the queue: append-only segment files with
// a group-commit writer. See the package documentation for the format.
type spool struct {
	fs      fileSystem
	dir     string
	quarDir string
	crypt   *spoolCrypt
	log     *slog.Logger
	health  *storageHealth
	segSize int64
	// compactAfter is how old the oldest segment may get while it still
	// holds waiting messages before they are copied forward.
	compactAfter time.Duration

	// fresh: nothing written since the spool was opened; the first write
	// starts a new segment. Owned by the writer.
	fresh bool

	mu      sync.Mutex // guards the fields below
	segs    []*segment // oldest first; the last is the active one
	index   map[string]*entry
	corrupt int // damaged regions found by the last scan
	// pendingDone are 'D' records that could not be written yet.
	pendingDone map[string]pendingDone
	// orphans, during the scan only, are state records met before their
	// message record: a spool compacted by an older sealgate copied
	// message records forward past their newest state.
	orphans map[string]loc

	reqs      chan *writeReq
	done      chan struct{}
	closeOnce sync.Once
}

// loc is where a record is: its segment, offset and whole frame length.
type loc struct {
	seg *segment
	off int64
	n   int
}

// entry is the latest message and state record of a queued message.
type entry struct {
	msg      loc
	state    loc
	hasState bool
}

const defaultSegmentSize = 32 << 20

// spoolConfig is what openSpool needs.
type spoolConfig struct {
	fs     fileSystem // nil: the real one
	dir    string
	key    []byte
	log    *slog.Logger
	health *storageHealth
	// segSize and compactAfter: 0 means the defaults.
	segSize      int64
	compactAfter time.Duration
}

// openSpool reads the spool and starts its writer. It succeeds on a full
// or read-only file system: recovery writes nothing it cannot do without,
// and the writer retries what fails.
func openSpool(cfg spoolConfig) (*spool, error) {
	s, err := newSpoolCrypt(cfg.key)
	if err != nil {
		return nil, err
	}
	if cfg.fs == nil {
		cfg.fs = osFS{}
	}
	if cfg.health == nil {
		cfg.health = &storageHealth{}
	}
	if cfg.log == nil {
		cfg.log = slog.New(slog.DiscardHandler)
	}
	sp := &spool{fs: cfg.fs, dir: cfg.dir, quarDir: filepath.Join(cfg.dir, "quarantine"), crypt: s,
		log: cfg.log, health: cfg.health, segSize: defaultSegmentSize, compactAfter: 5 * time.Minute,
		fresh: true, index: map[string]*entry{}, pendingDone: map[string]pendingDone{},
		reqs: make(chan *writeReq, 1024), done: make(chan struct{})}
	if cfg.segSize > 0 {
		sp.segSize = cfg.segSize
	}
	if cfg.compactAfter != 0 {
		sp.compactAfter = max(cfg.compactAfter, 0)
	}
	if err := cfg.fs.MkdirAll(sp.quarDir, 0o700); err != nil {
		sp.log.Error("spool: cannot create the quarantine folder", slog.String("error", err.Error()))
	}
	if err := sp.scan(); err != nil {
		return nil, err
	}
	go sp.run()
	return sp, nil
}

func (s *spool) close() {
	s.closeOnce.Do(func() { close(s.reqs) })
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.segs {
		g.close()
	}
}

// writeMessage makes a new message durable: its record is appended and
// fdatasync'd (together with every other record written meanwhile) before
// it returns.
func (s *spool) writeMessage(env *mail.Envelope, body []byte) error {
	plain, err := messageRecord(env, body)
	if err != nil {
		return err
	}
	return s.append(kindMsg, env.ID, plain, true)
}

// writeBounce makes a DSN durable together with the final state of the
// message it reports on, which records it as queued (State.DSNDone): the
// DSN's record, then that state, in one write and one fdatasync. A torn
// write can leave the DSN without the state, which recovery links up
// (Queue.linkDSNs), never the state without the DSN.
func (s *spool) writeBounce(dsn *mail.Envelope, body []byte, of string, st *mail.State) error {
	plain, err := messageRecord(dsn, body)
	if err != nil {
		return err
	}
	sb, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return s.appendPair(record{kindMsg, dsn.ID, plain}, record{kindState, of, sb})
}

// record is one spool record's kind, queue ID and plaintext.
type record struct {
	kind  byte
	id    string
	plain []byte
}

// appendPair appends two records in one write, first before second on
// disk, and syncs them before it returns.
func (s *spool) appendPair(first, second record) error {
	f1, err := s.crypt.frame(first.kind, first.id, first.plain)
	if err != nil {
		return err
	}
	f2, err := s.crypt.frame(second.kind, second.id, second.plain)
	if err != nil {
		return err
	}
	r := &writeReq{kind: second.kind, id: second.id, frame: f2, durable: true, done: make(chan error, 1),
		pre: &writeReq{kind: first.kind, id: first.id, frame: f1}}
	s.reqs <- r
	return <-r.done
}

// messageRecord is the plaintext of a message record: the envelope's
// JSON, length-prefixed, then the body.
func messageRecord(env *mail.Envelope, body []byte) ([]byte, error) {
	meta, err := json.Marshal(env)
	if err != nil {
		return nil, err
	}
	plain := make([]byte, 0, binary.MaxVarintLen64+len(meta)+len(body))
	plain = binary.AppendUvarint(plain, uint64(len(meta)))
	plain = append(plain, meta...)
	return append(plain, body...), nil
}

// writeState records a message's state. With durable false it is written
// but not waited for on disk: a process crash (kill -9) loses nothing
// written, and losing it in a power failure only means an earlier or
// repeated attempt, never a lost message.
func (s *spool) writeState(id string, st *mail.State, durable bool) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return s.append(kindState, id, b, durable)
}

// remove records that a message is finished. Lost in a power failure, it
// means a repeated delivery, never a lost one; durable is for operators'
// deletions, which must stick.
func (s *spool) remove(id string, durable bool) error {
	return s.append(kindDone, id, nil, durable)
}

func (s *spool) append(kind byte, id string, plain []byte, durable bool) error {
	frame, err := s.crypt.frame(kind, id, plain)
	if err != nil {
		return err
	}
	r := &writeReq{kind: kind, id: id, frame: frame, durable: durable, done: make(chan error, 1)}
	s.reqs <- r
	return <-r.done
}

// readMessage returns the envelope and body of a queued message.
func (s *spool) readMessage(id string) (*mail.Envelope, []byte, error) {
	plain, err := s.readLatest(id, kindMsg)
	if err != nil {
		return nil, nil, err
	}
	n, k := binary.Uvarint(plain)
	if k <= 0 || n > uint64(len(plain)-k) {
		return nil, nil, errCorrupt
	}
	env, err := decodeEnvelope(plain[k : k+int(n)])
	if err != nil {
		return nil, nil, err
	}
	if env.ID != id {
		return nil, nil, errCorrupt
	}
	return env, plain[k+int(n):], nil
}

// readState returns nil, nil when the message has no state record yet.
func (s *spool) readState(id string, env *mail.Envelope) (*mail.State, error) {
	plain, err := s.readLatest(id, kindState)
	if errors.Is(err, errNoRecord) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return decodeState(plain, env)
}

var errNoRecord = errors.New("no such spool record")

// readLatest reads and opens a message's latest record of a kind. The
// segment is held from the index lookup to the end of the read, so
// compaction cannot delete it in between; a segment closed anyway (the
// spool is closing) is looked up again a few times before giving up.
func (s *spool) readLatest(id string, kind byte) ([]byte, error) {
	for try := 0; ; try++ {
		frame, err := s.readHeld(id, kind)
		if errors.Is(err, errSegmentClosed) && try < 3 {
			continue
		}
		if err != nil {
			return nil, err
		}
		return s.crypt.decrypt(recordAAD(kind, id), frame[headerLen:])
	}
}

func (s *spool) readHeld(id string, kind byte) ([]byte, error) {
	s.mu.Lock()
	e, ok := s.index[id]
	var l loc
	if ok && kind == kindMsg {
		l = e.msg
	} else if ok && e.hasState {
		l = e.state
	}
	if l.seg == nil {
		s.mu.Unlock()
		return nil, errNoRecord
	}
	l.seg.mu.RLock() // a segment in the index is never being deleted
	s.mu.Unlock()
	defer l.seg.mu.RUnlock()
	return l.seg.readLocked(l.off, l.n)
}

// quarantine copies a message's records aside and removes it from the
// queue: it is never retried for ever and never silently dropped.
func (s *spool) quarantine(id string) error {
	var raw []byte
	for _, kind := range []byte{kindMsg, kindState} {
		b, err := s.readHeld(id, kind)
		if errors.Is(err, errNoRecord) {
			continue
		}
		if err != nil {
			return err
		}
		raw = append(raw, b...)
	}
	if err := writeFileAtomic(s.fs, filepath.Join(s.quarDir, id+".rec"), raw); err != nil {
		return err
	}
	return s.remove(id, true)
}

// segments is how many segment files the spool has.
func (s *spool) segments() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.segs)
}

// list returns the IDs of all queued messages, oldest first.
func (s *spool) list() ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.index))
	for id := range s.index {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, nil
}
