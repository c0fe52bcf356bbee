package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sealgate/sealgate/audit"
	"github.com/sealgate/sealgate/internal/testenv"
	"github.com/sealgate/sealgate/portal/keywrap"
	"github.com/sealgate/sealgate/store"
)

// unreachableList is the real SQLite suppression list behind a switch
// that makes it fail as a database that is down does.
type unreachableList struct {
	*store.Store
	down atomic.Bool
}

var errDown = errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")

func (u *unreachableList) Suppress(ctx context.Context, e store.Suppression) error {
	if u.down.Load() {
		return errDown
	}
	return u.Store.Suppress(ctx, e)
}

func (u *unreachableList) Suppressed(ctx context.Context, domain, address string) (bool, error) {
	if u.down.Load() {
		return false, errDown
	}
	return u.Store.Suppressed(ctx, domain, address)
}

// outboxFixture opens, in dir, a SQLite store, an audit log and the store's
// suppression list behind a switch, set to down; all closed when t ends.
func outboxFixture(t *testing.T, dir string) (*store.Store, *audit.Log, *unreachableList) {
	t.Helper()
	ctx := context.Background()
	master, err := keywrap.NewMaster(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, store.Options{Backend: "sqlite", Dir: filepath.Join(dir, "portal"), Master: master})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close(ctx) })
	l, err := audit.Open(filepath.Join(dir, "audit.log"), audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	list := &unreachableList{Store: st}
	list.down.Store(true)
	return st, l, list
}

// TestSuppressionOutboxSurvivesRestart: a suppression the store cannot
// take is written to disk and survives the gateway stopping; the next
// start offers it at once and, the store up, applies and audits it and
// removes its file. A pending file that cannot be read stops the start
// (no suppression is dropped unnoticed), a bad entry is refused without
// a file, and when neither the store nor the disk takes a suppression
// the caller is told.
func TestSuppressionOutboxSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, l, list := outboxFixture(t, dir)
	var logs testenv.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	gauge := pendingGauge(prometheus.NewRegistry())

	o, err := openSuppressionOutbox(list, l, log, dir, time.Hour, gauge)
	if err != nil {
		t.Fatal(err)
	}
	p := pendingSuppression{Domain: "Clinic.example.org", Address: "pat@example.net", Reason: store.ReasonHardBounce, Action: "bounce", Actor: "system"}
	if err := o.Suppress(ctx, p); err != nil {
		t.Fatalf("Suppress with the store down: %v", err)
	}
	bad := pendingSuppression{Domain: "clinic.example.org", Address: "no-at-sign", Reason: store.ReasonHardBounce, Action: "bounce"}
	if err := o.Suppress(ctx, bad); !errors.Is(err, store.ErrBadSuppression) {
		t.Fatalf("a bad entry: %v, want ErrBadSuppression", err)
	}
	if n := len(pendingFiles(t, filepath.Join(dir, pendingDir))); n != 1 {
		t.Fatalf("%d pending files, want 1 (the bad entry kept none)", n)
	}
	if hit, err := o.Suppressed(ctx, "clinic.example.org", "PAT@example.net"); !hit || err != nil {
		t.Fatalf("pending address at RCPT: %v %v, want suppressed without the store", hit, err)
	}
	if _, err := o.Suppressed(ctx, "clinic.example.org", "sam@example.net"); !errors.Is(err, errDown) {
		t.Fatalf("another address with the store down: %v, want the store's error", err)
	}
	if n := testutil.ToFloat64(gauge); n != 1 {
		t.Fatalf("sealgate_suppressions_pending = %v, want 1", n)
	}
	if strings.Contains(logs.String(), "pat@example.net") {
		t.Fatalf("the log names the address:\n%s", logs.String())
	}
	o.close()

	pending := filepath.Join(dir, pendingDir)
	list.down.Store(false)
	o, err = openSuppressionOutbox(list, l, log, dir, time.Hour, gauge)
	if err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 10*time.Second, "the pending suppression applied at start", func() bool { return len(pendingFiles(t, pending)) == 0 })
	o.close()
	if hit, err := st.Suppressed(ctx, "clinic.example.org", "pat@example.net"); !hit || err != nil {
		t.Fatalf("after the restart the store has pat: %v %v", hit, err)
	}
	if got, want := suppressionEvents(t, filepath.Join(dir, "audit.log")), []string{"bounce clinic.example.org pat@example.net hard_bounce system"}; !slices.Equal(got, want) {
		t.Fatalf("audit %q, want %q", got, want)
	}
	if n := testutil.ToFloat64(gauge); n != 0 {
		t.Fatalf("sealgate_suppressions_pending = %v, want 0", n)
	}

	if err := os.WriteFile(filepath.Join(pending, "1-torn.json"), []byte(`{"domain": "clin`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := openSuppressionOutbox(list, l, log, dir, time.Hour, gauge); err == nil || !strings.Contains(err.Error(), "1-torn.json") {
		t.Fatalf("a torn pending file: %v, want the start refused naming it", err)
	}
	os.Remove(filepath.Join(pending, "1-torn.json"))

	o, err = openSuppressionOutbox(list, l, log, dir, time.Hour, gauge)
	if err != nil {
		t.Fatal(err)
	}
	defer o.close()
	list.down.Store(true)
	if err := os.RemoveAll(pending); err != nil { // the disk cannot take the file either
		t.Fatal(err)
	}
	if err := os.WriteFile(pending, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := o.Suppress(ctx, p); err == nil {
		t.Fatal("Suppress with neither the store nor the disk taking it returned nil")
	}
}

// TestPendingSuppressionEitherIDNForm: an address pending on this node is
// suppressed at RCPT written with its domain in either IDNA form, as the
// store's list suppresses it, also once the store is up again and before
// the pending entry has been offered to it.
func TestPendingSuppressionEitherIDNForm(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	_, l, list := outboxFixture(t, dir)
	o, err := openSuppressionOutbox(list, l, slog.New(slog.DiscardHandler), dir, time.Hour, pendingGauge(prometheus.NewRegistry()))
	if err != nil {
		t.Fatal(err)
	}
	defer o.close()
	p := pendingSuppression{Domain: "clinic.example.org", Address: "pat@xn--mnchen-3ya.example", Reason: store.ReasonUnsubscribe,
		Action: "unsubscribe", Actor: "recipient"}
	if err := o.Suppress(ctx, p); err != nil {
		t.Fatal(err)
	}
	list.down.Store(false) // up again; the next offer is an hour away
	for _, rcpt := range []string{"pat@xn--mnchen-3ya.example", "pat@münchen.example", "Pat@MÜNCHEN.example"} {
		if hit, err := o.Suppressed(ctx, "clinic.example.org", rcpt); !hit || err != nil {
			t.Errorf("%s while its suppression is pending: %v %v, want suppressed", rcpt, hit, err)
		}
	}
	if hit, err := o.Suppressed(ctx, "clinic.example.org", "sam@münchen.example"); hit || err != nil {
		t.Errorf("another address: %v %v, want not suppressed", hit, err)
	}
}
