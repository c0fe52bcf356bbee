package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/sealgate/sealgate/safeio"
)

// blobStore holds encrypted message content by message ID.
type blobStore interface {
	put(ctx context.Context, id string, ciphertext []byte) error
	get(ctx context.Context, id string) ([]byte, error)
	remove(ctx context.Context, id string) error
}

// fileBlobs keeps one encrypted file per message in the data folder
// (<id>.sealed: the name on disk stays as existing stores have it).
type fileBlobs struct{ dir string }

func (f fileBlobs) path(id string) string { return filepath.Join(f.dir, id+".sealed") }

func (f fileBlobs) put(_ context.Context, id string, ciphertext []byte) error {
	return safeio.WriteFile(f.path(id), ciphertext, 0o600)
}

func (f fileBlobs) get(_ context.Context, id string) ([]byte, error) {
	b, err := os.ReadFile(f.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrGone
	}
	return b, err
}

// remove overwrites the file with zeros before unlinking it, so the encrypted
// bytes do not linger in the file's blocks on simple file systems.
func (f fileBlobs) remove(_ context.Context, id string) error {
	p := f.path(id)
	if st, err := os.Stat(p); err == nil {
		if fh, err := os.OpenFile(p, os.O_WRONLY, 0); err == nil {
			fh.Write(make([]byte, st.Size()))
			fh.Sync()
			fh.Close()
		}
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("portal store: remove encrypted file: %w", err)
	}
	return safeio.SyncDir(f.dir)
}

// sqlBlobs keeps encrypted content in the database, shared by every node.
type sqlBlobs struct {
	db *sql.DB
	d  dialect
}

func (b sqlBlobs) put(ctx context.Context, id string, ciphertext []byte) error {
	_, err := b.db.ExecContext(ctx, b.d.rebind(`INSERT INTO portal_blobs (id, data) VALUES (?, ?)`), id, ciphertext)
	return err
}

func (b sqlBlobs) get(ctx context.Context, id string) ([]byte, error) {
	var data []byte
	err := b.db.QueryRowContext(ctx, b.d.rebind(`SELECT data FROM portal_blobs WHERE id = ?`), id).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrGone
	}
	return data, err
}

func (b sqlBlobs) remove(ctx context.Context, id string) error {
	_, err := b.db.ExecContext(ctx, b.d.rebind(`DELETE FROM portal_blobs WHERE id = ?`), id)
	return err
}
