package main

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/sealgate/sealgate/config"
	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/metrics"
	"github.com/sealgate/sealgate/queue"
	"github.com/sealgate/sealgate/safeio"
)

// The first start makes the spool key and portal master key 0600 in
// <data_dir>/keys, apart from the spool they protect.
func TestFirstStartMakesKeyFilesOutsideSpool(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	keys := filepath.Join(e.cfg.DataDir, "keys")
	for _, p := range []string{e.cfg.Queue.KeyFile, e.cfg.Portal.MasterKeyFile} {
		if filepath.Dir(p) != keys {
			t.Errorf("key file %s is not in %s", p, keys)
		}
		st, err := os.Lstat(p)
		if err != nil || !st.Mode().IsRegular() || st.Mode().Perm() != 0o600 || st.Size() != 32 {
			t.Errorf("key file %s: %v, %v; want a 32-byte regular file, mode 0600", p, st, err)
		}
	}
	if rel, err := filepath.Rel(e.cfg.SpoolDir(), e.cfg.Queue.KeyFile); err != nil || !strings.HasPrefix(rel, "..") {
		t.Errorf("spool key %s is under the spool %s", e.cfg.Queue.KeyFile, e.cfg.SpoolDir())
	}
	if st, err := os.Stat(keys); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("keys folder: %v, %v; want mode 0700", st, err)
	}
}

// A spool key that group or others can read stops the gateway at start,
// with the file, its mode and the fix in the error.
func TestStartRefusesSpoolKeyOpenToOthers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := writeConfig(t, dir, smtpsink.NewTestCA(t), "127.0.0.1:1", envOpts{})
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Queue.KeyFile), 0o700); err != nil {
		t.Fatal(err)
	}
	key := bytes.Repeat([]byte{5}, 32)
	if err := os.WriteFile(cfg.Queue.KeyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(cfg.Queue.KeyFile, 0o644); err != nil {
		t.Fatal(err)
	}
	gw, err := startGateway(cfg, "", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil {
		gw.close(t.Context())
		t.Fatal("gateway started with a spool key readable by others")
	}
	for _, want := range []string{cfg.Queue.KeyFile, "0644", "chmod 600"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if got, _ := os.ReadFile(cfg.Queue.KeyFile); !bytes.Equal(got, key) {
		t.Error("the refused spool key was replaced")
	}
}

// syncRecorder is the real file system with the directory syncs recorded.
type syncRecorder struct {
	safeio.FS
	mu    sync.Mutex
	syncs []string
}

func (r *syncRecorder) SyncDir(dir string) error {
	r.mu.Lock()
	r.syncs = append(r.syncs, dir)
	r.mu.Unlock()
	return r.FS.SyncDir(dir)
}

// The first start fsyncs the new data folder into its parent, and the new
// spool folder into the data folder, before anything is accepted.
func TestFirstStartSyncsDataFolderIntoParent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := writeConfig(t, dir, smtpsink.NewTestCA(t), "127.0.0.1:1", envOpts{})
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	rec := &syncRecorder{FS: safeio.OS()}
	gw, err := startGatewayWith(&gateway{cfg: cfg, log: slog.New(slog.DiscardHandler), reg: metrics.NewRegistry(), dirs: rec})
	if err != nil {
		t.Fatal(err)
	}
	gw.close(t.Context())
	for _, want := range []string{filepath.Dir(cfg.DataDir), cfg.DataDir} {
		if !slices.Contains(rec.syncs, want) {
			t.Errorf("%s was not fsynced after a folder was made in it (syncs %q)", want, rec.syncs)
		}
	}
}

// A spool key that is missing while the spool holds queued mail stops the
// start with an error naming the key file; no new key is made, because it
// could open none of the queued mail.
func TestStartRefusesMissingSpoolKeyWithQueuedMail(t *testing.T) {
	t.Parallel()
	// Every delivery is deferred: the message stays queued.
	e := newEnv(t, envOpts{sink: smtpsink.Options{RcptReply: func(string) *smtp.SMTPError {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
	}}})
	if err := submit(t, e.smtpAt, e.ca, "news@news.example.org", []string{"a@example.net"},
		newsMessage("keep@news.example.org", "a@example.net", "hello")); err != nil {
		t.Fatal(err)
	}
	e.gw.close(t.Context())
	if err := os.Remove(e.cfg.Queue.KeyFile); err != nil {
		t.Fatal(err)
	}
	gw, err := startGateway(e.cfg, "", slog.New(slog.DiscardHandler))
	if err == nil {
		gw.close(t.Context())
		t.Fatal("gateway started with a new spool key over a spool holding mail")
	}
	for _, want := range []string{e.cfg.Queue.KeyFile, "restore the key file"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if _, err := os.Lstat(e.cfg.Queue.KeyFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("spool key after the refused start: %v, want none", err)
	}
	// Another key in its place (the wrong backup) stops the start as well.
	if err := os.WriteFile(e.cfg.Queue.KeyFile, bytes.Repeat([]byte{9}, 32), 0o600); err != nil {
		t.Fatal(err)
	}
	gw, err = startGateway(e.cfg, "", slog.New(slog.DiscardHandler))
	if err == nil {
		gw.close(t.Context())
		t.Fatal("gateway started with a spool key that opens none of the queued mail")
	}
	if !errors.Is(err, queue.ErrWrongKey) {
		t.Errorf("start with the wrong spool key: %v, want queue.ErrWrongKey", err)
	}
}
