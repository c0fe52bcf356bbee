package audit

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// rotatedFile is a file beside the log that a rotation left.
type rotatedFile struct {
	path string
	mod  time.Time
}

// rotated lists the rotated files beside the log at path (audit.log.1,
// audit.log-20261206, audit.log.20261206T1200Z…): regular, not empty, not
// compressed (rotate with delaycompress; compressed files are not read).
func rotated(path string) ([]rotatedFile, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []rotatedFile
	for _, e := range ents {
		n := e.Name()
		rest, ok := strings.CutPrefix(n, base)
		if !ok || rest == "" || (rest[0] != '.' && rest[0] != '-') || !e.Type().IsRegular() {
			continue
		}
		switch filepath.Ext(n) {
		case ".gz", ".xz", ".zst", ".bz2":
			continue
		}
		info, err := e.Info()
		if err == nil && info.Size() > 0 {
			out = append(out, rotatedFile{filepath.Join(dir, n), info.ModTime()})
		}
	}
	return out, nil
}

// Series returns the log at path and the rotated files beside it, oldest
// first, for Verify and Scan. The order is the chain's own: each file by
// the sequence number of its first record (a file that starts with lines
// from before the chain first), so a rotation scheme's naming does not
// matter; the file at path comes last when it is empty or absent.
// Compressed rotated files are not listed: a series whose oldest part was
// compressed starts at a later sequence number, which Verify reports.
func Series(path string) ([]string, error) {
	rot, err := rotated(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	type part struct {
		path  string
		first uint64
		mod   time.Time
	}
	var parts []part
	for _, r := range rot {
		first, err := firstSeq(r.path)
		if err != nil {
			return nil, err
		}
		parts = append(parts, part{r.path, first, r.mod})
	}
	slices.SortStableFunc(parts, func(a, b part) int {
		if a.first != b.first {
			if a.first < b.first {
				return -1
			}
			return 1
		}
		return a.mod.Compare(b.mod)
	})
	out := make([]string, 0, len(parts)+1)
	for _, p := range parts {
		out = append(out, p.path)
	}
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist) && len(out) > 0:
		return out, nil
	case errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("no audit log at %s", path)
	case err != nil:
		return nil, err
	case st.Size() == 0 && len(out) > 0:
		return out, nil
	}
	return append(out, path), nil
}

// firstSeq is the sequence number of the file's first record, 0 when the
// first line has none (written before the chain, or not a record).
func firstSeq(path string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	line, err := bufio.NewReaderSize(f, 64<<10).ReadBytes('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, err
	}
	var r struct {
		Seq uint64 `json:"seq"`
	}
	json.Unmarshal(line, &r)
	return r.Seq, nil
}
