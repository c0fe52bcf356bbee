package queue

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sealgate/sealgate/safeio"
)

const (
	msgSuffix   = ".msg"
	stateSuffix = ".st"
)

// spool is the on-disk part of the queue. See the package documentation
// for the format.
type spool struct {
	dir     string
	quarDir string
	seal    *sealer
	w       safeio.Writer
	dirSync [shards]*dirSyncer
}

// shards is the number of subdirectories messages are spread over: writers
// in different subdirectories do not contend for one directory's lock.
const shards = 16

// shard is the subdirectory of a queue ID: its last hex digit (random).
func shard(id string) string { return id[len(id)-1:] }

func openSpool(dir string, key []byte) (*spool, error) {
	s, err := newSealer(key)
	if err != nil {
		return nil, err
	}
	quar := filepath.Join(dir, "quarantine")
	if err := os.MkdirAll(quar, 0o700); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	sp := &spool{dir: dir, quarDir: quar, seal: s,
		w: safeio.Writer{FS: safeio.OS(), Perm: 0o600, SyncDir: false}}
	for i := range sp.dirSync {
		sub := filepath.Join(dir, fmt.Sprintf("%x", i))
		if err := os.MkdirAll(sub, 0o700); err != nil {
			return nil, fmt.Errorf("spool: %w", err)
		}
		sp.dirSync[i] = newDirSyncer(sub)
	}
	return sp, safeio.SyncDir(dir)
}

func (s *spool) close() {
	for _, d := range s.dirSync {
		d.close()
	}
}

func (s *spool) path(id, suffix string) string {
	return filepath.Join(s.dir, shard(id), id+suffix)
}

func (s *spool) syncer(id string) *dirSyncer {
	i, _ := strconv.ParseUint(shard(id), 16, 8)
	return s.dirSync[i]
}

// writeMessage makes a new message durable: sealed file written and
// fsynced, renamed into place, and the directory fsynced (batched with
// other concurrent writers).
func (s *spool) writeMessage(env *Envelope, body []byte) error {
	meta, err := json.Marshal(env)
	if err != nil {
		return err
	}
	plain := make([]byte, 0, binary.MaxVarintLen64+len(meta)+len(body))
	plain = binary.AppendUvarint(plain, uint64(len(meta)))
	plain = append(plain, meta...)
	plain = append(plain, body...)
	if err := s.w.WriteFile(s.path(env.ID, msgSuffix), s.seal.seal("msg", env.ID, plain)); err != nil {
		return err
	}
	return s.syncer(env.ID).sync()
}

func (s *spool) readMessage(id string) (*Envelope, []byte, error) {
	data, err := os.ReadFile(s.path(id, msgSuffix))
	if err != nil {
		return nil, nil, err
	}
	plain, err := s.seal.open("msg", id, data)
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

// writeState replaces the state file. With durable false the file is
// renamed into place without fsync: it survives a process crash (kill -9),
// and losing it in a power failure only means an earlier or repeated
// attempt, never a lost message.
func (s *spool) writeState(id string, st *State, durable bool) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	w := s.w
	w.NoSync = !durable
	w.SyncDir = durable
	return w.WriteFile(s.path(id, stateSuffix), s.seal.seal("state", id, b))
}

// readState returns nil, nil when the message has no state file yet.
func (s *spool) readState(id string, env *Envelope) (*State, error) {
	data, err := os.ReadFile(s.path(id, stateSuffix))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	plain, err := s.seal.open("state", id, data)
	if err != nil {
		return nil, err
	}
	return decodeState(plain, env)
}

// remove deletes a finished message, state first so that a half-removed
// message is never recovered with stale state. withState false skips the
// state file when the caller knows none was written (the common case of a
// message delivered on its first attempt).
func (s *spool) remove(id string, withState bool) error {
	var err1 error
	if withState {
		err1 = os.Remove(s.path(id, stateSuffix))
		if errors.Is(err1, fs.ErrNotExist) {
			err1 = nil
		}
	}
	return errors.Join(err1, os.Remove(s.path(id, msgSuffix)))
}

// quarantine moves a broken entry aside; it is never retried or dropped.
func (s *spool) quarantine(id string) error {
	var errs []error
	for _, suf := range []string{msgSuffix, stateSuffix} {
		err := os.Rename(s.path(id, suf), filepath.Join(s.quarDir, id+suf))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errors.Join(errs...), safeio.SyncDir(filepath.Join(s.dir, shard(id))), safeio.SyncDir(s.quarDir))
}

// list returns the IDs of all messages in the spool, and removes leftover
// temporary files of interrupted writes.
func (s *spool) list() ([]string, error) {
	var ids []string
	for i := range s.dirSync {
		sub := filepath.Join(s.dir, fmt.Sprintf("%x", i))
		entries, err := os.ReadDir(sub)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			name := e.Name()
			id := strings.TrimSuffix(name, msgSuffix)
			switch {
			case e.IsDir():
			case strings.HasSuffix(name, msgSuffix) && validID(id) && shard(id) == filepath.Base(sub):
				ids = append(ids, id)
			case strings.Contains(name, ".tmp"):
				os.Remove(filepath.Join(sub, name))
			}
		}
	}
	return ids, nil
}
