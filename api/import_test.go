package api

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// oldAPIFile writes an API store file as sealgate made it before the
// shared store (<data_dir>/api/api.db), holding one live key, one
// Idempotency-Key and the state of one recipient, and returns its path
// and the key.
func oldAPIFile(t *testing.T) (string, string) {
	dir := filepath.Join(t.TempDir(), "api")
	os.MkdirAll(dir, 0o700)
	path := filepath.Join(dir, "api.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const key = "sgk_0a0b0c0d0e0f_old-key-from-before-the-shared-store-000000"
	now := time.Now().Unix()
	schema, err := os.ReadFile("testdata/legacy-api-db.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(string(schema)); err != nil {
		t.Fatal(err)
	}
	for _, q := range [][]any{
		{`INSERT INTO api_keys VALUES (?, ?, ?, ?, 0)`, "0a0b0c0d0e0f", "ehr", hashKey(key), now},
		{`INSERT INTO api_keys VALUES (?, ?, ?, ?, 1)`, "dead00000000", "ehr", hashKey("sgk_revoked"), now},
		{`INSERT INTO api_idempotency VALUES ('ehr', 'order-17', 'h17', 'Q17', 1, ?)`, now},
		{`INSERT INTO api_recipients VALUES ('Q17', 'ehr', 'pat@example.net', 0, 'delivered', 1, 250, '2.0.0', ?, ?)`, now, now},
	} {
		if _, err := db.Exec(q[0].(string), q[1:]...); err != nil {
			t.Fatal(err)
		}
	}
	return path, key
}

// TestImportOldFile: an api.db from before the shared store is moved into
// it on both backends: the key works, the Idempotency-Key is answered,
// the message state is shown, and the old file is gone; a second import
// has nothing to do.
func TestImportOldFile(t *testing.T) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := open(t)
			path, key := oldAPIFile(t)
			n, err := st.ImportFile(ctx, path)
			if err != nil || n != 4 {
				t.Fatalf("import: %d rows, %v; want 4", n, err)
			}
			if c, id, err := st.Client(ctx, key); err != nil || c != "ehr" || id != "0a0b0c0d0e0f" {
				t.Fatalf("the imported key: %q %q %v", c, id, err)
			}
			if _, _, err := st.Client(ctx, "sgk_revoked"); err == nil {
				t.Error("a key revoked in the old file works after the import")
			}
			got, found, err := st.reserve(ctx, "ehr", "order-17", "h17", "Q99")
			if err != nil || !found || got.QueueID != "Q17" || !got.Done {
				t.Errorf("the imported Idempotency-Key: %+v %v %v", got, found, err)
			}
			rs, _, err := st.status(ctx, "ehr", "Q17")
			if err != nil || len(rs) != 1 || rs[0].Status != "delivered" || rs[0].Code != 250 {
				t.Errorf("the imported state: %+v %v", rs, err)
			}
			for _, p := range []string{path, path + "-wal", filepath.Dir(path)} {
				if _, err := os.Stat(p); !os.IsNotExist(err) {
					t.Errorf("%s is still there after the import (%v)", p, err)
				}
			}
			if n, err := st.ImportFile(ctx, path); n != 0 || err != nil {
				t.Errorf("a second import: %d, %v", n, err)
			}
		})
	}
}
