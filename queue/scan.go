package queue

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// scan rebuilds the index from the segments on disk, oldest first. A
// record that fails its checks at the very end of the newest segment is
// the torn tail of a write that was never acknowledged: it is cut off. A
// damaged region anywhere else is copied to quarantine/ and skipped; the
// scan resumes at the next record that authenticates.
func (s *spool) scan() error {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	var nums []uint64
	for _, e := range entries {
		if n, ok := parseSegName(e.Name()); ok && !e.IsDir() {
			nums = append(nums, n)
		}
	}
	slices.Sort(nums)
	for i, n := range nums {
		if err := s.scanSegment(n, i == len(nums)-1); err != nil {
			return err
		}
	}
	return nil
}

func (s *spool) scanSegment(num uint64, newest bool) error {
	path := filepath.Join(s.dir, segName(num))
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	st, _ := f.Stat()
	g := &segment{num: num, path: path, f: f, created: st.ModTime()}
	s.segs = append(s.segs, g)
	for off := 0; off < len(data); {
		n, ok := s.record(g, data, off)
		if ok {
			off += n
			continue
		}
		next := s.resync(data, off+1)
		if next == len(data) && newest {
			g.size = int64(off)
			return f.Truncate(int64(off)) // torn tail, never acknowledged
		}
		s.corrupt++
		qpath := filepath.Join(s.quarDir, fmt.Sprintf("%s-%d.bad", segName(num), off))
		if err := writeQuarantine(qpath, data[off:next]); err != nil {
			return err
		}
		off = next
	}
	g.size = int64(len(data))
	return nil
}

// record checks and applies the record at off, returning its length.
func (s *spool) record(g *segment, data []byte, off int) (int, bool) {
	h, err := parseHeader(data[off:])
	if err != nil || off+headerLen+h.n > len(data) {
		return 0, false
	}
	end := off + headerLen + h.n
	if _, err := s.seal.open(recordAAD(h.kind, h.id), data[off+headerLen:end]); err != nil {
		return 0, false
	}
	s.applyLocked(h.kind, h.id, loc{seg: g, off: int64(off), n: end - off})
	return end - off, true
}

// resync finds the next offset from off where a record authenticates.
func (s *spool) resync(data []byte, off int) int {
	for off < len(data) {
		i := bytes.Index(data[off:], []byte(frameMagic))
		if i < 0 {
			return len(data)
		}
		off += i
		if h, err := parseHeader(data[off:]); err == nil && off+headerLen+h.n <= len(data) {
			if _, err := s.seal.open(recordAAD(h.kind, h.id), data[off+headerLen:off+headerLen+h.n]); err == nil {
				return off
			}
		}
		off++
	}
	return len(data)
}
