package portalbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/sealgate/sealgate/internal/keyfile"
	"github.com/sealgate/sealgate/safeio"
)

// ErrClosed is returned by a FileStore after Close.
var ErrClosed = errors.New("portalbox: store closed")

// indexVersion is the version of index.json.
const indexVersion = 1

// FileConfig configures a FileStore.
type FileConfig struct {
	// Dir holds index.json and the sealed messages (msgs/); created 0700.
	Dir string
	// MasterKeyFile wraps every message key; created 0600 if absent. It
	// should live outside Dir (the data folder's keys/).
	MasterKeyFile string
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// FileStore is a Store in a folder: msgs/<id> holds one message sealed
// with AES-256-GCM under its own random key; index.json maps each token's
// hash to the file, its expiry and its key wrapped by the master key. The
// index holds no address or content. It is safe for concurrent use.
type FileStore struct {
	dir    string
	master []byte
	now    func() time.Time

	mu     sync.Mutex
	items  map[string]entry // by token hash
	closed bool
}

// index is the JSON form of index.json.
type index struct {
	Version int              `json:"version"`
	Items   map[string]entry `json:"items"`
}

// entry is one item's metadata.
type entry struct {
	ID      string    `json:"id"`   // file name under msgs/
	Slot    string    `json:"slot"` // HMAC of queue ID and recipient
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
	Key     []byte    `json:"key"` // message key wrapped by the master key
}

// sealedItem is what a message file holds, once opened.
type sealedItem struct {
	QueueID   string `json:"queue_id"`
	Recipient string `json:"recipient"`
	Sender    string `json:"sender"`
	Message   []byte `json:"message"`
}

// OpenFileStore opens (creating if needed) the store in cfg.Dir. Message
// files that the index does not name (left by a crash between writing a
// message and committing the index) are removed.
func OpenFileStore(cfg FileConfig) (*FileStore, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := os.MkdirAll(filepath.Join(cfg.Dir, "msgs"), 0o700); err != nil {
		return nil, fmt.Errorf("portalbox: %w", err)
	}
	master, err := keyfile.LoadOrCreate(cfg.MasterKeyFile, KeySize)
	if err != nil {
		return nil, fmt.Errorf("portalbox: master key: %w", err)
	}
	s := &FileStore{dir: cfg.Dir, master: master, now: cfg.Now}
	if s.items, err = s.readIndex(); err != nil {
		return nil, err
	}
	s.sweep()
	return s, nil
}

func (s *FileStore) readIndex() (map[string]entry, error) {
	data, err := os.ReadFile(filepath.Join(s.dir, "index.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]entry{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("portalbox: index: %w", err)
	}
	var idx index
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, fmt.Errorf("portalbox: index: %w", err)
	}
	if idx.Version != indexVersion {
		return nil, fmt.Errorf("portalbox: index version %d, want %d", idx.Version, indexVersion)
	}
	if idx.Items == nil {
		idx.Items = map[string]entry{}
	}
	return idx.Items, nil
}

// writeIndex commits the index durably. The caller holds s.mu.
func (s *FileStore) writeIndex() error {
	data, err := json.Marshal(index{Version: indexVersion, Items: s.items})
	if err != nil {
		return fmt.Errorf("portalbox: index: %w", err)
	}
	if err := safeio.WriteFile(filepath.Join(s.dir, "index.json"), data, 0o600); err != nil {
		return fmt.Errorf("portalbox: index: %w", err)
	}
	return nil
}

// sweep removes message files the index does not name.
func (s *FileStore) sweep() {
	names, err := os.ReadDir(filepath.Join(s.dir, "msgs"))
	if err != nil {
		return
	}
	live := make(map[string]bool, len(s.items))
	for _, e := range s.items {
		live[e.ID] = true
	}
	for _, n := range names {
		if !live[n.Name()] || strings.HasPrefix(n.Name(), ".") {
			os.Remove(filepath.Join(s.dir, "msgs", n.Name()))
		}
	}
}

func (s *FileStore) msgPath(id string) string { return filepath.Join(s.dir, "msgs", id) }

// Put implements Store.
func (s *FileStore) Put(ctx context.Context, it Item) (string, error) {
	if it.Recipient == "" || it.Expires.IsZero() {
		return "", errors.New("portalbox: item needs a recipient and an expiry")
	}
	if it.Created.IsZero() {
		it.Created = s.now()
	}
	token, err := NewToken()
	if err != nil {
		return "", err
	}
	e, err := s.writeMessage(it)
	if err != nil {
		return "", err
	}
	old, err := s.commit(TokenHash(token), e)
	if err != nil {
		os.Remove(s.msgPath(e.ID))
		return "", err
	}
	s.removeFiles(old)
	return token, nil
}

// writeMessage seals it into a new file and returns its index entry.
func (s *FileStore) writeMessage(it Item) (entry, error) {
	id, err := newID()
	if err != nil {
		return entry{}, err
	}
	key, err := newKey()
	if err != nil {
		return entry{}, err
	}
	plain, err := json.Marshal(sealedItem{QueueID: it.QueueID, Recipient: it.Recipient, Sender: it.Sender, Message: it.Message})
	if err != nil {
		return entry{}, fmt.Errorf("portalbox: %w", err)
	}
	sealed, err := seal(key, plain, "sealgate-portal-message:"+id)
	if err != nil {
		return entry{}, err
	}
	wrapped, err := seal(s.master, key, "sealgate-portal-key:"+id)
	if err != nil {
		return entry{}, err
	}
	if err := safeio.WriteFile(s.msgPath(id), sealed, 0o600); err != nil {
		return entry{}, fmt.Errorf("portalbox: message: %w", err)
	}
	return entry{ID: id, Slot: slot(s.master, it.QueueID, it.Recipient), Created: it.Created.UTC(),
		Expires: it.Expires.UTC(), Key: wrapped}, nil
}

// commit adds e under hash, dropping items of the same slot, and returns
// the dropped entries' file IDs.
func (s *FileStore) commit(hash string, e entry) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	prev := make(map[string]entry)
	for h, o := range s.items {
		if o.Slot == e.Slot {
			prev[h] = o
			delete(s.items, h)
		}
	}
	s.items[hash] = e
	if err := s.writeIndex(); err != nil {
		delete(s.items, hash)
		for h, o := range prev {
			s.items[h] = o
		}
		return nil, err
	}
	var ids []string
	for _, o := range prev {
		ids = append(ids, o.ID)
	}
	return ids, nil
}

// Get implements Store.
func (s *FileStore) Get(ctx context.Context, token string) (*Item, error) {
	e, err := s.lookup(token)
	if err != nil {
		return nil, err
	}
	sealed, err := os.ReadFile(s.msgPath(e.ID))
	if err != nil {
		return nil, fmt.Errorf("portalbox: message: %w", err)
	}
	key, err := open(s.master, e.Key, "sealgate-portal-key:"+e.ID)
	if err != nil {
		return nil, err
	}
	plain, err := open(key, sealed, "sealgate-portal-message:"+e.ID)
	if err != nil {
		return nil, err
	}
	var si sealedItem
	if err := json.Unmarshal(plain, &si); err != nil {
		return nil, fmt.Errorf("portalbox: message: %w", err)
	}
	return &Item{QueueID: si.QueueID, Recipient: si.Recipient, Sender: si.Sender, Message: si.Message,
		Created: e.Created, Expires: e.Expires}, nil
}

// lookup returns the live entry for token.
func (s *FileStore) lookup(token string) (entry, error) {
	if !validToken(token) {
		return entry{}, ErrNotFound
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return entry{}, ErrClosed
	}
	e, ok := s.items[TokenHash(token)]
	if !ok || !s.now().Before(e.Expires) {
		return entry{}, ErrNotFound
	}
	return e, nil
}

// Delete implements Store.
func (s *FileStore) Delete(ctx context.Context, token string) error {
	if !validToken(token) {
		return ErrNotFound
	}
	hash := TokenHash(token)
	ids, err := s.drop(func(h string, _ entry) bool { return h == hash })
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return ErrNotFound
	}
	return s.removeFiles(ids)
}

// Purge implements Store.
func (s *FileStore) Purge(ctx context.Context, now time.Time) (int, error) {
	ids, err := s.drop(func(_ string, e entry) bool { return !now.Before(e.Expires) })
	if err != nil {
		return 0, err
	}
	return len(ids), s.removeFiles(ids)
}

// drop removes the entries that match from the index, commits it and
// returns their file IDs.
func (s *FileStore) drop(match func(string, entry) bool) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	prev := make(map[string]entry)
	for h, e := range s.items {
		if match(h, e) {
			prev[h] = e
			delete(s.items, h)
		}
	}
	if len(prev) == 0 {
		return nil, nil
	}
	if err := s.writeIndex(); err != nil {
		for h, e := range prev {
			s.items[h] = e
		}
		return nil, err
	}
	ids := make([]string, 0, len(prev))
	for _, e := range prev {
		ids = append(ids, e.ID)
	}
	return ids, nil
}

// removeFiles deletes message files and makes the removal durable.
func (s *FileStore) removeFiles(ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	var errs []error
	for _, id := range ids {
		if err := os.Remove(s.msgPath(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("portalbox: remove message: %w", err))
		}
	}
	if err := safeio.SyncDir(filepath.Join(s.dir, "msgs")); err != nil {
		errs = append(errs, fmt.Errorf("portalbox: %w", err))
	}
	return errors.Join(errs...)
}

// Len returns how many items the index holds, expired ones included, for
// a gauge.
func (s *FileStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.items)
}

// Close implements Store. Later calls fail with ErrClosed.
func (s *FileStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}
