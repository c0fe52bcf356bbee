package queue

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrWrongKey is matched by the error of opening a spool whose records
// were encrypted with another key than the one given: at least one record
// is whole, and none authenticates.
var ErrWrongKey = errors.New("the spool key opens none of the spool's records")

// checkKey returns an error matching ErrWrongKey when the key opens no
// record of a spool that holds whole records. Recovery would otherwise
// take every record for damage: it would cut the newest segment to
// nothing as a torn tail and move the others to quarantine, and the
// queued mail would be gone even once the right key is back. Nothing is
// changed before this check.
//
// It reads the first record of each segment, newest first, and stops at
// the first that opens. Only when none does are the segments read whole,
// in case every first record is damaged but later ones are sound.
func (s *spool) checkKey(nums []uint64) error {
	whole := false
	for i := len(nums) - 1; i >= 0; i-- {
		opened, complete := s.probeFirst(filepath.Join(s.dir, segName(nums[i])))
		if opened {
			return nil
		}
		whole = whole || complete
	}
	if !whole {
		return nil // empty segments or torn first writes: nothing to judge by
	}
	for i := len(nums) - 1; i >= 0; i-- {
		data, err := readFile(s.fs, filepath.Join(s.dir, segName(nums[i])))
		if err != nil {
			return nil // the scan reports what cannot be read
		}
		if s.resync(data, 0) < len(data) {
			return nil
		}
	}
	return fmt.Errorf("spool %s: %w: it was encrypted with another key. Nothing was changed; "+
		"configure the key file that belongs to this spool (queue.key_file), restored from a backup if need be",
		s.dir, ErrWrongKey)
}

// probeFirst reads the first record of a segment file and reports whether
// it authenticates and whether it is whole (a well-formed header and all
// of its payload). A file that cannot be read counts as neither.
func (s *spool) probeFirst(path string) (opened, complete bool) {
	f, err := s.fs.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return false, false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Size() < headerLen {
		return false, false
	}
	hdr := make([]byte, headerLen)
	if n, _ := f.ReadAt(hdr, 0); n < headerLen {
		return false, false
	}
	h, err := parseHeader(hdr)
	if err != nil || int64(headerLen+h.n) > st.Size() {
		return false, false
	}
	payload := make([]byte, h.n)
	if n, _ := f.ReadAt(payload, headerLen); n < h.n {
		return false, false
	}
	_, err = s.crypt.decrypt(recordAAD(h.kind, h.id), payload)
	return err == nil, true
}
