package control

import (
	"context"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/sealgate/sealgate/mail"
)

// fakeQueue counts the operations carried out on it.
type fakeQueue struct{ done []string }

func (q *fakeQueue) List() []mail.Info                  { return nil }
func (q *fakeQueue) Show(string) (mail.Info, error)     { return mail.Info{}, nil }
func (q *fakeQueue) Retry(id string) error              { q.done = append(q.done, "retry "+id); return nil }
func (q *fakeQueue) Release(id string) error            { q.done = append(q.done, "release "+id); return nil }
func (q *fakeQueue) HeldContent(string) ([]byte, error) { return []byte("held"), nil }
func (q *fakeQueue) Delete(id string) error             { q.done = append(q.done, "delete "+id); return nil }
func (q *fakeQueue) Flush() int                         { q.done = append(q.done, "flush"); return 1 }

// brokenAudit cannot write a record, like an audit log on a full disk.
type brokenAudit struct{ tried int }

func (a *brokenAudit) Operator(string, string, Peer, string) error {
	a.tried++
	return errors.New("no space left on device")
}

// TestActionsRefusedWhenNotAudited: with an audit log that cannot be
// written, no operator action is carried out — release, retry, delete,
// flush, reload and showing content all answer 503 and change nothing.
func TestActionsRefusedWhenNotAudited(t *testing.T) {
	q, a := &fakeQueue{}, &brokenAudit{}
	reloaded := false
	sock := filepath.Join(t.TempDir(), "control.sock")
	s, err := Listen(Options{Path: sock, Queue: q, Audit: a, Reload: func() error { reloaded = true; return nil }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	for _, req := range []struct{ method, path string }{
		{"POST", "/queue/Q1/release"}, {"POST", "/queue/Q1/retry"}, {"DELETE", "/queue/Q1"},
		{"POST", "/queue/flush"}, {"POST", "/reload"}, {"GET", "/queue/Q1/content"},
	} {
		r, _ := http.NewRequest(req.method, "http://sealgate"+req.path, nil)
		res, err := c.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("%s %s with the audit log failing: %d, want 503", req.method, req.path, res.StatusCode)
		}
	}
	if len(q.done) != 0 || reloaded {
		t.Errorf("carried out without an audit record: %v (reload %v)", q.done, reloaded)
	}
	if a.tried != 6 {
		t.Errorf("%d audit attempts, want one per request", a.tried)
	}
}

// TestHealthFallsBackToReady: without a Health function, /health answers
// as /readyz does — ready, or the reason it is not (exit 1 for `sealgate
// health`); with one, a node out of service on purpose is healthy.
func TestHealthFallsBackToReady(t *testing.T) {
	var notReady error
	health := func() (string, error) { return NodeDraining, nil }
	for _, tc := range []struct {
		opts    Options
		want    string
		wantErr string
	}{
		{Options{}, HealthReady, ""},
		{Options{Ready: func() error { return notReady }}, "", "not healthy: disk full"},
		{Options{Ready: func() error { return notReady }, Health: health}, NodeDraining, ""},
	} {
		notReady = errors.New("disk full")
		tc.opts.Path, tc.opts.Queue, tc.opts.Audit = filepath.Join(t.TempDir(), "control.sock"), &fakeQueue{}, &brokenAudit{}
		s, err := Listen(tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Dial(tc.opts.Path).Health()
		s.Close(context.Background())
		if got != tc.want || (err == nil) != (tc.wantErr == "") || (err != nil && err.Error() != tc.wantErr) {
			t.Errorf("Health = %q, %v; want %q, %q", got, err, tc.want, tc.wantErr)
		}
	}
}
