package audit

import (
	"bufio"
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
)

// Report is what Verify found.
type Report struct {
	Files       []string
	Records     int // chained records read, checkpoints included
	Checkpoints int // signed checkpoints that verified
	// Unsigned counts the records after the last checkpoint: chained,
	// but nothing stops their removal from the end of the log.
	Unsigned int
	// Unchained counts lines at the start written before the log had a
	// hash chain; they are not protected.
	Unchained int
	// FirstSeq is the first record's sequence number; above 1 when the
	// first file continues a rotated one that was not given.
	FirstSeq uint64
	// SignedThrough is the sequence number of the last checkpoint that
	// verified: every record before it is covered by a signature.
	SignedThrough uint64
	// Broken is the first broken record, nil when the chain is whole.
	Broken *Break
}

// Entry is one record as Scan reads it back: where it is, its place in
// the chain, and its fields. Seq is 0 for a line written before the log
// had a hash chain.
type Entry struct {
	File string
	Line int
	Seq  uint64
	Event
}

// Break names the first record where the chain does not hold.
type Break struct {
	File string
	Line int // 1-based line in File
	Why  string
}

func (b *Break) Error() string { return fmt.Sprintf("%s:%d: %s", b.File, b.Line, b.Why) }

// record is what Verify reads of each line.
type record struct {
	Seq   *uint64         `json:"seq"`
	Prev  string          `json:"prev"`
	Event string          `json:"event"`
	Time  json.RawMessage `json:"time"`
	Key   string          `json:"key"`
	Sig   string          `json:"sig"`
}

// verifier carries the chain across the files given to Verify.
type verifier struct {
	pub     ed25519.PublicKey
	r       Report
	started bool // a chained record has been read
	seq     uint64
	last    [sha256.Size]byte // hash of the previous line
	haveAny bool              // any line read (chained or not)
	file    string
	line    int
	each    func(Entry) // Scan's callback; nil for Verify
}

// Verify checks the audit log files, in the order given (oldest first for
// a rotated series): every line a record, sequence numbers consecutive,
// each record carrying the hash of the one before (across files too), and
// every checkpoint signed by pub. It stops at the first broken record. The
// error is for files that cannot be read.
func Verify(files []string, pub ed25519.PublicKey) (Report, error) {
	return Scan(files, pub, nil)
}

// Scan verifies the files as Verify does and hands each record
// (checkpoints excepted) to each, in order, once its line parsed and its
// link to the record before held. A record edited in place shows only at
// the record after it, and one after the last checkpoint can be forged by
// anyone, so the caller trusts what it was handed only when the Report
// has no break, and a record only when its Seq is below SignedThrough.
// Nothing after a break is handed over.
func Scan(files []string, pub ed25519.PublicKey, each func(Entry)) (Report, error) {
	v := &verifier{pub: pub, each: each}
	v.r.Files = files
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return v.r, err
		}
		err = v.file1(name, f)
		f.Close()
		if err != nil {
			return v.r, err
		}
		if v.r.Broken != nil {
			return v.r, nil
		}
	}
	return v.r, nil
}

func (v *verifier) file1(name string, f io.Reader) error {
	v.file, v.line = name, 0
	br := bufio.NewReaderSize(f, 64<<10)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			v.line++
			if line[len(line)-1] != '\n' {
				v.fail("the last line is cut short (no newline): the log was truncated, or a write was interrupted")
				return nil
			}
			if v.check(line[:len(line)-1]); v.r.Broken != nil {
				return nil
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func (v *verifier) fail(format string, a ...any) {
	v.r.Broken = &Break{File: v.file, Line: v.line, Why: fmt.Sprintf(format, a...)}
}

// check verifies one line against the chain so far.
func (v *verifier) check(line []byte) {
	var r record
	if err := json.Unmarshal(line, &r); err != nil || r.Event == "" {
		v.fail("not an audit record (not a JSON object with an event): edited or damaged")
		return
	}
	hash := sha256.Sum256(line)
	if r.Seq == nil || r.Prev == "" {
		if v.started {
			v.fail("a record without seq and prev inside the chain: inserted")
			return
		}
		v.r.Unchained++
		v.last, v.haveAny = hash, true
		v.emit(line, 0)
		return
	}
	prev, err := hex.DecodeString(r.Prev)
	if err != nil || len(prev) != sha256.Size {
		v.fail("prev is not a SHA-256 hash: edited")
		return
	}
	if !v.link(*r.Seq, prev) {
		return
	}
	if r.Event == "checkpoint" {
		if !v.checkpoint(r, prev) {
			return
		}
		v.r.Checkpoints++
		v.r.Unsigned = 0
		v.r.SignedThrough = *r.Seq
	} else {
		v.r.Unsigned++
		v.emit(line, *r.Seq)
	}
	v.r.Records++
	v.started, v.haveAny = true, true
	v.seq, v.last = *r.Seq, hash
}

// emit hands a verified record to Scan's callback.
func (v *verifier) emit(line []byte, seq uint64) {
	if v.each == nil {
		return
	}
	e := Entry{File: v.file, Line: v.line, Seq: seq}
	json.Unmarshal(line, &e.Event) // the line parsed as a record in check
	v.each(e)
}

// link checks that a record follows the one before: the next sequence
// number, and the previous line's hash.
func (v *verifier) link(seq uint64, prev []byte) bool {
	var zero [sha256.Size]byte
	switch {
	case !v.started && !v.haveAny:
		// The first line given: a new chain, or a file continuing a
		// rotated one that was not given (its link cannot be checked).
		if bytes.Equal(prev, zero[:]) && seq != 1 {
			v.fail("record seq %d starts a chain (prev is zero) but is not seq 1: edited", seq)
			return false
		}
		v.r.FirstSeq = seq
		return true
	case !v.started:
		// The first chained record after lines from before the chain.
		if !bytes.Equal(prev, v.last[:]) {
			v.fail("the first chained record does not carry the hash of the line before it: edited")
			return false
		}
		v.r.FirstSeq = seq
		return true
	}
	switch want := v.seq + 1; {
	case seq > want:
		v.fail("record seq %d follows seq %d: %d record(s) missing before this line (removed or moved)", seq, v.seq, seq-want)
		return false
	case seq < want:
		v.fail("record seq %d follows seq %d: records reordered or repeated", seq, v.seq)
		return false
	case bytes.Equal(prev, zero[:]):
		v.fail("record seq %d starts a new chain: the log before it was replaced, or a file is missing", seq)
		return false
	case !bytes.Equal(prev, v.last[:]):
		if v.line == 1 {
			v.fail("the first record does not carry the hash of the previous file's last record: a file is missing or out of order, or that record was edited")
		} else {
			v.line--
			v.fail("this record was edited: the next record (seq %d) carries a different hash for it (or records after it were removed and the rest renumbered)", seq)
		}
		return false
	}
	return true
}

// checkpoint verifies a checkpoint's signature with the trusted key.
func (v *verifier) checkpoint(r record, prev []byte) bool {
	var when string
	if err := json.Unmarshal(r.Time, &when); err != nil {
		v.fail("checkpoint seq %d has no time: edited", *r.Seq)
		return false
	}
	if v.pub == nil {
		v.fail("checkpoint seq %d cannot be checked: no audit public key given", *r.Seq)
		return false
	}
	if want := hex.EncodeToString(v.pub); r.Key != want {
		v.fail("checkpoint seq %d is signed by key %.16s…, not the gateway's audit key %.16s…: forged", *r.Seq, r.Key, want)
		return false
	}
	sig, err := base64.StdEncoding.DecodeString(r.Sig)
	if err != nil || !ed25519.Verify(v.pub, checkpointMessage(*r.Seq, prev, when), sig) {
		v.fail("checkpoint seq %d has a signature that does not verify: forged or edited", *r.Seq)
		return false
	}
	return true
}
