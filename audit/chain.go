package audit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Defaults for Options.
const (
	DefaultCheckpointEvery    = 1000
	DefaultCheckpointInterval = time.Minute
)

// Options configure an audit log's chain.
type Options struct {
	// Key signs checkpoints. Without a key no checkpoint is written, and
	// Verify of the log reports every record as unsigned.
	Key ed25519.PrivateKey
	// CheckpointEvery is how many records at most follow the last
	// checkpoint before a new one is written (default 1000).
	CheckpointEvery int
	// CheckpointInterval is how long at most a record waits for a
	// checkpoint (default one minute; a negative value turns the timer off).
	CheckpointInterval time.Duration
}

// Observer is told of every record appended to the log, with its
// sequence number and the log's file ("" for a stream), while the log is
// locked: it must not block or write to the log (hand the event to a
// goroutine). It receives the record's fields, never more.
type Observer func(seq uint64, file string, e Event)

// SetObserver has fn told of every record appended from now on; nil
// stops it.
func (l *Log) SetObserver(fn Observer) {
	if l == nil {
		return
	}
	l.mu.Lock()
	l.observe = fn
	l.mu.Unlock()
}

// Log is an audit log. The zero value and nil discard events.
//
// The chain state (the last record's sequence number and hash) is held in
// memory and, for a file, re-read from the file's last line whenever the
// file changed under the log: another sealgate process (a CLI command)
// appended to it, or it was rotated (renamed away, a new file created at
// the path). Every append to a file is made under an exclusive flock, so
// two processes never fork the chain.
type Log struct {
	mu  sync.Mutex
	w   io.Writer
	c   io.Closer
	now func() time.Time

	path string   // the file's path; "" for a stream
	f    *os.File // the open file when path != ""
	size int64    // f's size after our last append
	torn bool     // the file ends in a line cut short: end it first
	seq  uint64   // last record's sequence number (0: none yet)
	prev [sha256.Size]byte

	key      ed25519.PrivateKey
	keyID    string
	every    int
	unsigned int       // records since the last checkpoint
	oldest   time.Time // when the oldest unsigned record was written
	stop     chan struct{}
	done     chan struct{}
	observe  Observer
}

// Open appends to the file at path, creating it 0600, and continues the
// hash chain from the file's last record — or, for a new empty file after
// rotation, from the last record of the most recent rotated file beside it.
func Open(path string, o Options) (*Log, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	l := &Log{w: f, c: f, f: f, path: path, now: time.Now, size: -1}
	l.setOptions(o)
	if err := l.lock(); err != nil {
		f.Close()
		return nil, err
	}
	err = l.follow()
	l.unlock()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("audit: %s: %w", path, err)
	}
	if l.key != nil && o.CheckpointInterval >= 0 {
		iv := o.CheckpointInterval
		if iv == 0 {
			iv = DefaultCheckpointInterval
		}
		l.stop, l.done = make(chan struct{}), make(chan struct{})
		go l.checkpointTicker(iv, l.stop, l.done)
	}
	return l, nil
}

// New writes to w (for tests and standard error), chaining from the start.
func New(w io.Writer) *Log { return &Log{w: w, now: time.Now} }

// NewWith writes to w with the given chain options.
func NewWith(w io.Writer, o Options) *Log {
	l := New(w)
	l.setOptions(o)
	return l
}

func (l *Log) setOptions(o Options) {
	l.key = o.Key
	if o.Key != nil {
		l.keyID = hex.EncodeToString(o.Key.Public().(ed25519.PublicKey))
	}
	l.every = o.CheckpointEvery
	if l.every <= 0 {
		l.every = DefaultCheckpointEvery
	}
}

// Close writes a checkpoint over any unsigned records and closes the file.
func (l *Log) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	stop, done, c := l.stop, l.done, l.c
	l.stop, l.c = nil, nil
	l.mu.Unlock()
	if stop == nil && c == nil {
		return nil // closed already, or nothing to close
	}
	if stop != nil {
		close(stop)
		<-done
	}
	err := l.Checkpoint()
	if c != nil {
		err = errors.Join(err, c.Close())
	}
	return err
}

// Checkpoint writes a signed checkpoint if any record follows the last one.
func (l *Log) Checkpoint() error {
	if l == nil || l.w == nil || l.key == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.unsigned == 0 {
		return nil
	}
	if err := l.lock(); err != nil {
		return err
	}
	defer l.unlock()
	if err := l.follow(); err != nil {
		return err
	}
	return l.writeCheckpoint()
}

func (l *Log) checkpointTicker(iv time.Duration, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			l.Checkpoint() // an error shows at the next record's write
		}
	}
}

func (l *Log) write(e event) { l.writeErr(e, false) }

// writeErr appends e to the chain and says whether it was written. With
// sync, a file is synced too, so a record that gates an action (showing
// content) is on disk first; other records are not, to keep a flush off
// every message.
func (l *Log) writeErr(e event, sync bool) error {
	if l == nil || l.w == nil {
		return errNoLog
	}
	if l.now == nil {
		l.now = time.Now
	}
	e.Time = l.now().UTC()
	body, err := json.Marshal(e)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.lock(); err != nil {
		return err
	}
	defer l.unlock()
	if err := l.follow(); err != nil {
		return err
	}
	if err := l.appendRecord(body); err != nil {
		return err
	}
	if l.observe != nil {
		l.observe(l.seq, l.path, e)
	}
	if l.key != nil && (l.unsigned >= l.every) {
		if err := l.writeCheckpoint(); err != nil {
			return err
		}
	}
	if f, ok := l.w.(*os.File); ok && sync {
		// Standard error as the audit log (log.audit_file: "-") may be a
		// pipe or terminal, which cannot be synced: written is all there is.
		if err := f.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
			return err
		}
	}
	return nil
}

// appendRecord writes one line: {"seq":N,"prev":"<hex>", then the
// record's own fields. The record's hash is SHA-256 of the line without
// its newline, so it covers the previous hash and every field.
func (l *Log) appendRecord(body []byte) error {
	seq := l.seq + 1
	line := make([]byte, 0, len(body)+100)
	start := 0
	if l.torn {
		line = append(line, '\n')
		start = 1
	}
	line = append(line, `{"seq":`...)
	line = strconv.AppendUint(line, seq, 10)
	line = append(line, `,"prev":"`...)
	line = hex.AppendEncode(line, l.prev[:])
	line = append(line, `",`...)
	line = append(line, body[1:]...)
	line = append(line, '\n')
	n, err := l.w.Write(line)
	if l.f != nil {
		l.size += int64(n)
	}
	if err != nil {
		// What reached the file: part of this record (the file now ends in
		// a line cut short, which the next record must end first), or only
		// the newline that ended an earlier torn line.
		switch {
		case n > start:
			l.torn = true
		case n == start && start == 1:
			l.torn = false
		}
		return err
	}
	l.torn = false
	l.seq = seq
	l.prev = sha256.Sum256(line[start : len(line)-1])
	if l.unsigned == 0 {
		l.oldest = l.now()
	}
	l.unsigned++
	return nil
}

// checkpointMessage is what a checkpoint's signature covers: its own
// sequence number, the hash of the record before it, and its time.
func checkpointMessage(seq uint64, prev []byte, when string) []byte {
	return fmt.Appendf(nil, "sealgate audit checkpoint v1\nseq=%d\nprev=%x\ntime=%s\n", seq, prev, when)
}

// checkpoint appends a record signed over the chain so far.
func (l *Log) writeCheckpoint() error {
	t := l.now().UTC()
	when := t.Format(time.RFC3339Nano)
	sig := ed25519.Sign(l.key, checkpointMessage(l.seq+1, l.prev[:], when))
	body, err := json.Marshal(event{Time: t, Event: "checkpoint", Key: l.keyID,
		Sig: base64.StdEncoding.EncodeToString(sig)})
	if err != nil {
		return err
	}
	if err := l.appendRecord(body); err != nil {
		return err
	}
	l.unsigned = 0
	return nil
}

func (l *Log) lock() error {
	if l.f == nil {
		return nil
	}
	return flock(l.f, syscall.LOCK_EX)
}

func (l *Log) unlock() {
	if l.f != nil {
		flock(l.f, syscall.LOCK_UN)
	}
}

func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// follow brings the chain state up to date with the file, under the lock:
// if the path now names another file (rotation), it switches to that one;
// if the file's size is not what our last append left, someone else wrote
// (or rotated it), and the last record is read again.
func (l *Log) follow() error {
	if l.f == nil {
		return nil
	}
	cur, err := l.f.Stat()
	if err != nil {
		return err
	}
	if at, err := os.Stat(l.path); err != nil || !os.SameFile(cur, at) {
		if err := l.reopen(); err != nil {
			return err
		}
		if cur, err = l.f.Stat(); err != nil {
			return err
		}
	}
	if cur.Size() == l.size {
		return nil
	}
	if cur.Size() == 0 {
		// A new file at the path: the chain goes on from the last
		// record we know, or from a rotated file beside it.
		if l.size < 0 && l.seq == 0 {
			if err := l.fromRotated(); err != nil {
				return err
			}
		}
		l.size = 0
		return nil
	}
	if err := l.fromTail(cur.Size()); err != nil {
		return err
	}
	l.size = cur.Size()
	return nil
}

// reopen switches to the file now at the path, locking it before the old
// one is released.
func (l *Log) reopen() error {
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if err := flock(f, syscall.LOCK_EX); err != nil {
		f.Close()
		return err
	}
	old := l.f
	l.f, l.w, l.c = f, f, f
	l.size = -1
	flock(old, syscall.LOCK_UN)
	old.Close()
	return nil
}

// fromTail sets the chain state from the last complete line of the file.
// A last line without its newline (a write cut short) is ended by the next
// append, so the next record starts on a line of its own (on a full disk
// that waits until the disk has room); Verify reports the cut line.
func (l *Log) fromTail(size int64) error {
	last, torn, err := lastLine(l.path, size)
	if err != nil {
		return err
	}
	l.torn = torn
	if last == nil {
		return nil
	}
	var r struct {
		Seq uint64 `json:"seq"`
	}
	json.Unmarshal(last, &r) // a line from before the chain has no seq: 0
	l.seq = r.Seq
	l.prev = sha256.Sum256(last)
	return nil
}

// fromRotated continues the chain from the newest rotated file beside the
// log (see rotated).
func (l *Log) fromRotated() error {
	rot, err := rotated(l.path)
	if err != nil {
		return err
	}
	var newest string
	var newestT time.Time
	for _, r := range rot {
		if r.mod.After(newestT) {
			newest, newestT = r.path, r.mod
		}
	}
	if newest == "" {
		return nil
	}
	st, err := os.Stat(newest)
	if err != nil {
		return err
	}
	last, _, err := lastLine(newest, st.Size())
	if err != nil || last == nil {
		return err
	}
	var r struct {
		Seq uint64 `json:"seq"`
	}
	json.Unmarshal(last, &r)
	l.seq = r.Seq
	l.prev = sha256.Sum256(last)
	return nil
}

// lastLine returns the last complete line of the file (without its
// newline) and whether bytes follow it without a newline.
func lastLine(path string, size int64) (last []byte, torn bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	for chunk := int64(64 << 10); ; chunk *= 4 {
		off := max(size-chunk, 0)
		buf := make([]byte, size-off)
		if _, err := f.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
			return nil, false, err
		}
		end := len(buf)
		if end > 0 && buf[end-1] != '\n' {
			torn = true
			end = bytes.LastIndexByte(buf, '\n') + 1
		}
		if end == 0 {
			if off == 0 {
				return nil, torn, nil
			}
			continue
		}
		start := bytes.LastIndexByte(buf[:end-1], '\n') + 1
		if start > 0 || off == 0 {
			return bytes.Clone(buf[start : end-1]), torn, nil
		}
	}
}
