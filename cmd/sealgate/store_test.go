package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealgate/sealgate/internal/pgtest"
	"github.com/sealgate/sealgate/store"
)

// storeCLIConfig writes a small loopback config whose store lines are
// extra, and returns its path and data folder.
func storeCLIConfig(t *testing.T, extra string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	path := filepath.Join(dir, "sealgate.yaml")
	cfg := "hostname: gw.example.org\ndata_dir: " + data + `
listeners: [{name: local, address: "127.0.0.1:2525", tls: none, auth: none}]
clients: [{name: app, networks: 127.0.0.1, allowed_senders: "*"}]
portal: {base_url: "http://127.0.0.1:8443"}
` + extra
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, data
}

// TestStoreCLISQLite: status on a store that does not exist fails and
// creates nothing; migrate makes it and says what it applied; status
// then shows the version, text and JSON; a second migrate has nothing to do.
func TestStoreCLISQLite(t *testing.T) {
	t.Parallel()
	path, data := storeCLIConfig(t, "store: sqlite\n")
	code, out, errOut := runCLI("store", "status", "--config", path)
	if code == 0 || !strings.Contains(errOut, "no store at sqlite "+filepath.Join(data, "portal", "portal.db")) {
		t.Fatalf("status of no store: %d %q %q", code, out, errOut)
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Fatalf("store status created %s (%v)", data, err)
	}
	known := store.Known()
	last := known[len(known)-1].Version
	code, out, errOut = runCLI("store", "migrate", "--config", path)
	if code != 0 || strings.Count(out, ": applied\n") != len(known) || !strings.Contains(out, "1 portal: applied") ||
		!strings.Contains(out, fmt.Sprintf("is at version %d\n", last)) {
		t.Fatalf("store migrate: %d %q %q", code, out, errOut)
	}
	code, out, _ = runCLI("store", "status", "--config", path)
	if code != 0 || !strings.Contains(out, fmt.Sprintf("version: %d\n", last)) || !strings.Contains(out, "applied: 1 portal at ") || !strings.Contains(out, "pending: none") {
		t.Fatalf("store status: %d %q", code, out)
	}
	code, out, _ = runCLI("store", "status", "--json", "--config", path)
	var st struct {
		Backend string
		Version int
		Applied []struct{ Version int }
		Pending []struct{ Version int }
	}
	if err := json.Unmarshal([]byte(out), &st); code != 0 || err != nil || st.Backend != "sqlite" || st.Version != last || len(st.Applied) != len(known) || len(st.Pending) != 0 {
		t.Fatalf("store status --json: %d %v %+v\n%s", code, err, st, out)
	}
	code, out, _ = runCLI("store", "migrate", "--config", path)
	if code != 0 || !strings.Contains(out, "nothing to apply") {
		t.Fatalf("a second migrate: %d %q", code, out)
	}
}

// TestStoreCLIPostgresAlias: the old key portal.store names a PostgreSQL
// store; status on its empty database creates no table, migrate adopts a
// database an older sealgate made (portal_schema) and keeps its rows.
func TestStoreCLIPostgresAlias(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	path, _ := storeCLIConfig(t, "")
	cfg, _ := os.ReadFile(path)
	cfg = []byte(strings.Replace(string(cfg), `portal: {base_url: "http://127.0.0.1:8443"}`,
		`portal: {base_url: "http://127.0.0.1:8443", store: "`+url+`"}`, 1))
	os.WriteFile(path, cfg, 0o600)
	code, out, errOut := runCLI("store", "status", "--config", path)
	if code == 0 || !strings.Contains(errOut, "no store at postgres") || strings.Contains(errOut, url) {
		t.Fatalf("status of an empty database: %d %q %q", code, out, errOut)
	}
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var tables int
	if err := db.QueryRow(`SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'`).Scan(&tables); err != nil || tables != 0 {
		t.Fatalf("status made %d tables (%v)", tables, err)
	}
	// What sealgate before versioned migrations left: portal_schema and a
	// suppression (the other tables come with the adopted migration).
	for _, q := range []string{
		`CREATE TABLE suppressions (domain TEXT NOT NULL, address TEXT NOT NULL, reason TEXT NOT NULL, at BIGINT NOT NULL, PRIMARY KEY (domain, address))`,
		`INSERT INTO suppressions VALUES ('clinic.example', 'gone@home.example', 'unsubscribe', 1)`,
		`CREATE TABLE portal_schema (version INTEGER NOT NULL)`, `INSERT INTO portal_schema VALUES (1)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	code, out, _ = runCLI("store", "status", "--config", path)
	if code != 0 || !strings.Contains(out, "version: 0") || !strings.Contains(out, "older sealgate") || !strings.Contains(out, "pending: 1 portal") {
		t.Fatalf("status of an old-scheme store: %d %q", code, out)
	}
	code, out, errOut = runCLI("store", "migrate", "--config", path)
	last := store.Known()[len(store.Known())-1].Version
	if code != 0 || !strings.Contains(out, "1 portal: adopted") || !strings.Contains(out, fmt.Sprintf("postgres (store in the config) is at version %d\n", last)) {
		t.Fatalf("migrate of an old-scheme store: %d %q %q", code, out, errOut)
	}
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM suppressions WHERE address = 'gone@home.example'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the old suppression after adoption: %d (%v)", n, err)
	}
}

// TestAPIKeyImportsOldFile: on a data folder from before the shared
// store, with the API's own api.db and no store yet, `sealgate apikey
// list` lists the file's keys and changes nothing (no store is made, the
// file stays); `apikey revoke` then moves the file's keys into the store,
// the old file is gone and the store exists.
func TestAPIKeyImportsOldFile(t *testing.T) {
	t.Parallel()
	path, data := storeCLIConfig(t, "")
	old := filepath.Join(data, "api", "api.db")
	os.MkdirAll(filepath.Dir(old), 0o700)
	db, err := sql.Open("sqlite", "file:"+old)
	if err != nil {
		t.Fatal(err)
	}
	schema := string(mustRead(t, "../../api/testdata/legacy-api-db.sql"))
	if _, err := db.Exec(schema + "; INSERT INTO api_keys VALUES ('0a0b0c0d0e0f', 'app', 'a3f1', 1764000000, 0)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	code, out, errOut := runCLI("apikey", "list", "--config", path)
	if code != 0 || !strings.Contains(out, "0a0b0c0d0e0f") || !strings.Contains(out, "app") {
		t.Fatalf("apikey list on an old data folder: %d %q %q", code, out, errOut)
	}
	if _, err := os.Stat(old); err != nil {
		t.Fatalf("apikey list removed the old api.db (%v)", err)
	}
	if code, out, _ := runCLI("store", "status", "--config", path); code != 1 {
		t.Fatalf("apikey list made a store: status %d %q", code, out)
	}
	if code, out, errOut := runCLI("apikey", "revoke", "0a0b0c0d0e0f", "--config", path); code != 0 {
		t.Fatalf("apikey revoke of an old file's key: %d %q %q", code, out, errOut)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("the old api.db is still there (%v)", err)
	}
	if code, out, _ := runCLI("apikey", "list", "--config", path); code != 0 || !strings.Contains(out, "revoked") {
		t.Errorf("apikey list after the import: %d %q", code, out)
	}
	if code, out, _ := runCLI("store", "status", "--config", path); code != 0 || !strings.Contains(out, "pending: none") {
		t.Errorf("store status after the import: %d %q", code, out)
	}
}

// TestNodesStartTogetherOnEmptyStore: two gateways start at the same
// moment on one empty PostgreSQL database; both start (neither trips over
// the other's migration), every migration is recorded once, and both take
// mail.
func TestNodesStartTogetherOnEmptyStore(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	start := make(chan struct{})
	t.Run("nodes", func(t *testing.T) {
		for _, node := range []string{"a", "b"} {
			t.Run(node, func(t *testing.T) {
				t.Parallel()
				<-start
				e := newCampaignEnv(t, "store: \""+url+"\"\n")
				if err := e.send("ehr", "reminders@clinic.example.org", "pat@example.net", campaignMessage(node+"@clinic", "pat@example.net")); err != nil {
					t.Fatalf("node %s: %v", node, err)
				}
			})
		}
		close(start)
	})
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rows, versions int
	if err := db.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_migrations`).Scan(&rows, &versions); err != nil {
		t.Fatal(err)
	}
	if want := len(store.Known()); rows != want || versions != want {
		t.Fatalf("schema_migrations holds %d rows of %d versions, want %d", rows, versions, want)
	}
}
