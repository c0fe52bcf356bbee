package queue

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// scan rebuilds the index from the segments on disk, oldest first. A
// record that fails its checks at the very end of the newest segment is
// the torn tail of a write that was never acknowledged: it is cut off. A
// damaged region anywhere else is copied to quarantine/ and skipped; the
// scan resumes at the next record that authenticates.
func (s *spool) scan() error {
	entries, err := s.fs.ReadDir(s.dir)
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
	if err := s.checkKey(nums); err != nil {
		return err
	}
	s.orphans = map[string]loc{}
	defer func() { s.orphans = nil }()
	for i, n := range nums {
		if err := s.scanSegment(n, i == len(nums)-1); err != nil {
			return err
		}
	}
	return nil
}

func (s *spool) scanSegment(num uint64, newest bool) error {
	path := filepath.Join(s.dir, segName(num))
	data, err := readFile(s.fs, path)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	g, err := s.openSegment(num, path)
	if err != nil {
		return err
	}
	s.segs = append(s.segs, g)
	for off := 0; off < len(data); {
		n, ok := s.record(g, data, off)
		if ok {
			off += n
			continue
		}
		next := s.resync(data, off+1)
		if next == len(data) && newest {
			s.cutTornTail(g, int64(off))
			return nil
		}
		s.corrupt++
		r := region{int64(off), int64(next)}
		if err := s.copyDamaged(g, r, data[off:next]); err != nil {
			// Left in place: the segment is moved to quarantine whole
			// when it is no longer needed (retire).
			g.unsaved = append(g.unsaved, r)
			s.health.fail("quarantine", err)
			s.log.Error("spool: damaged region left in its segment: its quarantine copy cannot be written",
				slog.String("segment", segName(num)), slog.Int("offset", off), slog.String("error", err.Error()))
		}
		off = next
	}
	g.size = int64(len(data))
	return nil
}

// openSegment opens a segment found on disk, for reading only when the
// file system is read-only.
func (s *spool) openSegment(num uint64, path string) (*segment, error) {
	readOnly := false
	f, err := s.fs.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		f, err = s.fs.OpenFile(path, os.O_RDONLY, 0)
		readOnly = true
	}
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	created := time.Now()
	if st, err := f.Stat(); err == nil {
		created = st.ModTime()
	}
	return &segment{num: num, path: path, fs: s.fs, f: f, created: created, readOnly: readOnly}, nil
}

// cutTornTail cuts the torn tail of a write that was never acknowledged.
// If the file cannot be cut now, the writer cuts it before it writes
// there or starts the next segment.
func (s *spool) cutTornTail(g *segment, off int64) {
	g.size = off
	if err := g.f.Truncate(off); err != nil {
		g.dirty = true
		s.log.Warn("spool: torn tail not cut yet", slog.String("segment", segName(g.num)), slog.String("error", err.Error()))
	}
}

// copyDamaged writes a damaged region to quarantine/.
func (s *spool) copyDamaged(g *segment, r region, raw []byte) error {
	qpath := filepath.Join(s.quarDir, fmt.Sprintf("%s-%d.bad", segName(g.num), r.off))
	return writeFileAtomic(s.fs, qpath, raw)
}

// saveDamaged tries again to copy the damaged regions of g to quarantine/.
func (s *spool) saveDamaged(g *segment) {
	var left []region
	for _, r := range g.unsaved {
		raw, err := g.read(r.off, int(r.end-r.off))
		if err == nil {
			err = s.copyDamaged(g, r, raw)
		}
		if err != nil {
			left = append(left, r)
		}
	}
	g.unsaved = left
}

// record checks and applies the record at off, returning its length.
func (s *spool) record(g *segment, data []byte, off int) (int, bool) {
	h, err := parseHeader(data[off:])
	if err != nil || off+headerLen+h.n > len(data) {
		return 0, false
	}
	end := off + headerLen + h.n
	if _, err := s.crypt.decrypt(recordAAD(h.kind, h.id), data[off+headerLen:end]); err != nil {
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
			if _, err := s.crypt.decrypt(recordAAD(h.kind, h.id), data[off+headerLen:off+headerLen+h.n]); err == nil {
				return off
			}
		}
		off++
	}
	return len(data)
}
