// Package pgtest starts a throwaway PostgreSQL cluster for tests: initdb
// into a new directory, pg_ctl start on a private unix socket (no TCP), and
// stop plus removal at the end of the test; StartTLSCluster's cluster also
// listens on 127.0.0.1 and takes TCP clients over TLS only.
// SEALGATE_TEST_POSTGRES, when set to a postgres:// URL, is used instead
// (for example a server that .ci/run started).
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
)

// URL returns the URL of a fresh, empty database for this test. It skips
// the test when PostgreSQL is not installed, unless CI is "true".
func URL(t testing.TB) string {
	t.Helper()
	return NewDB(t, Server(t))
}

// Server returns the URL of a PostgreSQL server that lives until t ends:
// SEALGATE_TEST_POSTGRES, or a cluster started for t. Call NewDB for each
// test's own database.
func Server(t testing.TB) string {
	t.Helper()
	if base := os.Getenv("SEALGATE_TEST_POSTGRES"); base != "" {
		return base
	}
	return startCluster(t)
}

func binDir(t testing.TB) string {
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) > 0 {
		return filepath.Dir(matches[len(matches)-1])
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("postgresql (initdb) is not installed; .ci/run must install it")
	}
	t.Skip("postgresql (initdb) is not installed; skipping the PostgreSQL tests")
	return ""
}

// startCluster runs initdb and pg_ctl, as the postgres user when root.
func startCluster(t testing.TB) string {
	return StartCluster(t).URL
}

// Cluster is a PostgreSQL cluster of this test's own, which the test may
// stop and start again (to show what happens while the database is down).
type Cluster struct {
	// URL is the server's postgres:// URL (a unix socket; no TCP).
	URL string
	// TCP is the server's TCP address (127.0.0.1:port) when it was
	// started by StartTLSCluster, else empty.
	TCP           string
	bin, owner    string
	data, dir     string
	listen, extra string // listen_addresses and further -c settings
}

// StartCluster starts a cluster for t alone, even when
// SEALGATE_TEST_POSTGRES names a shared server; it is stopped and removed
// when t ends.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	c := initCluster(t)
	c.Start(t)
	return c
}

// initCluster makes a cluster's data directory (initdb) without starting
// it; the cluster is stopped and removed when t ends.
func initCluster(t testing.TB) *Cluster {
	t.Helper()
	bin := binDir(t)
	dir, err := os.MkdirTemp("", "sealgate-pg-")
	if err != nil {
		t.Fatal(err)
	}
	owner := "postgres"
	if os.Geteuid() != 0 {
		u, _ := user.Current()
		owner = u.Username
	} else if err := chownTo(dir, owner); err != nil {
		t.Fatal(err)
	}
	c := &Cluster{bin: bin, owner: owner, data: filepath.Join(dir, "data"), dir: dir, listen: "''",
		URL: "postgres://postgres@/postgres?host=" + url.QueryEscape(dir)}
	run(t, owner, filepath.Join(bin, "initdb"), "-D", c.data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
	t.Cleanup(func() {
		stop := asUser(owner, filepath.Join(bin, "pg_ctl"), "-D", c.data, "-m", "immediate", "-w", "stop")
		exec.Command(stop[0], stop[1:]...).Run()
		os.RemoveAll(dir)
	})
	return c
}

// Start starts the cluster (again) and waits until it takes connections.
func (c *Cluster) Start(t testing.TB) {
	t.Helper()
	run(t, c.owner, filepath.Join(c.bin, "pg_ctl"), "-D", c.data, "-w", "-t", "60", "-l", filepath.Join(c.dir, "log"),
		"-o", "-c listen_addresses="+c.listen+" -c unix_socket_directories="+c.dir+" -c fsync=off"+c.extra, "start")
}

// Stop stops the cluster at once (mode immediate, as a crash would) and
// waits until it is down: connections fail from then on.
func (c *Cluster) Stop(t testing.TB) {
	t.Helper()
	run(t, c.owner, filepath.Join(c.bin, "pg_ctl"), "-D", c.data, "-m", "immediate", "-w", "-t", "60", "stop")
}

func chownTo(dir, name string) error {
	u, err := user.Lookup(name)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return os.Chown(dir, uid, gid)
}

func asUser(owner string, argv ...string) []string {
	if os.Geteuid() == 0 {
		return append([]string{"runuser", "-u", owner, "--"}, argv...)
	}
	return argv
}

func run(t testing.TB, owner string, argv ...string) {
	t.Helper()
	a := asUser(owner, argv...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, a[0], a[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", filepath.Base(argv[0]), err, out)
	}
}

// NewDB makes a new database on the server at base and returns its URL.
func NewDB(t testing.TB, base string) string {
	t.Helper()
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	b := make([]byte, 6)
	rand.Read(b)
	name := "sealgate_test_" + hex.EncodeToString(b)
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
