package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sealgate/sealgate/internal/pgtest"
	"github.com/sealgate/sealgate/internal/testenv"
	"github.com/sealgate/sealgate/portal/keywrap"
)

// env is one store under test and a way to read its raw bytes at rest.
type env struct {
	s      *Store
	clk    *testenv.Clock
	dir    string
	atRest func(t *testing.T) []byte // every stored byte: database and encrypted content files
}

type opener func(t *testing.T) func(t *testing.T) env

func sqliteBackend(*testing.T) func(t *testing.T) env { return openSQLite }

func postgresBackend(t *testing.T) func(t *testing.T) env {
	server := pgtest.Server(t)
	return func(t *testing.T) env { return openPostgres(t, pgtest.NewDB(t, server)) }
}

func openSQLite(t *testing.T) env {
	dir := t.TempDir()
	e := newEnv(t, "sqlite", dir)
	e.atRest = func(t *testing.T) []byte {
		var all []byte
		filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() {
				b, _ := os.ReadFile(p)
				all = append(all, b...)
			}
			return nil
		})
		return all
	}
	return e
}

func openPostgres(t *testing.T, url string) env {
	e := newEnv(t, url, "")
	e.atRest = func(t *testing.T) []byte {
		var all []byte
		for _, q := range []string{
			`SELECT string_agg(m::text, '|') FROM portal_messages m`,
			`SELECT string_agg(encode(data, 'escape'), '|') FROM portal_blobs`,
			`SELECT string_agg(encode(token_hash, 'escape') || encode(coalesce(wrapped_key, ''), 'escape'), '|') FROM portal_messages`,
			`SELECT string_agg(encode(data, 'escape'), '|') FROM portal_sessions`,
			`SELECT string_agg(r::text || encode(coalesce(totp_secret, ''), 'escape'), '|') FROM portal_recipients r`,
		} {
			var s sql.NullString
			if err := e.s.db.QueryRow(q).Scan(&s); err != nil {
				t.Fatal(err)
			}
			all = append(all, s.String...)
		}
		return all
	}
	return e
}

func newEnv(t *testing.T, backend, dir string) env {
	m := testMaster(t)
	clk := testenv.NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	s, err := Open(context.Background(), Options{Backend: backend, Dir: dir, Master: m, TTL: 24 * time.Hour, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return env{s: s, clk: clk, dir: dir}
}

var backends = map[string]opener{"sqlite": sqliteBackend, "postgres": postgresBackend}

// TestStore runs the same suite against SQLite and PostgreSQL.
func TestStore(t *testing.T) {
	tests := map[string]func(*testing.T, env){
		"RoundTrip":          testRoundTrip,
		"NothingPlainAtRest": testNothingPlainAtRest,
		"Revoke":             testRevoke,
		"Expiry":             testExpiry,
		"Code":               testCode,
		"CodeLockout":        testCodeLockout,
		"ParallelGuesses":    testParallelGuesses,
		"BadID":              testBadID,
		"Suppressions":       testSuppressions,
		"SuppressionsIDN":    testSuppressionsIDN,
		"Consents":           testConsents,
		"ConsentsIDN":        testConsentsIDN,
		"BounceRecipients":   testBounceRecipients,
		"Stats":              testStats,
	}
	for bname, backend := range backends {
		t.Run(bname, func(t *testing.T) {
			open := backend(t)
			for name, fn := range tests {
				t.Run(name, func(t *testing.T) { fn(t, open(t)) })
			}
		})
	}
}

func sample() Item {
	return Item{
		ID: "q1.0", Sender: "dr.smith@clinic.example", Recipient: "patient@home.example",
		Content: Content{
			Subject: "Your lab results", Text: "Potassium 4.1 mmol/L, all normal.",
			HTML:        "<p>Potassium <b>4.1</b></p>",
			Attachments: []Attachment{{Name: "results.pdf", Type: "application/pdf", Data: []byte("%PDF-1.4 lab report")}},
		},
	}
}

func testRoundTrip(t *testing.T, e env) {
	ctx := context.Background()
	tok, err := e.s.Put(ctx, sample())
	if err != nil {
		t.Fatal(err)
	}
	if len(tok) < 22 {
		t.Fatalf("token too short for 128 bits: %d chars", len(tok))
	}
	m, err := e.s.Lookup(ctx, tok)
	if err != nil || m.ID != "q1.0" || m.Recipient != "patient@home.example" || m.Attachments != 1 {
		t.Fatalf("lookup: %+v %v", m, err)
	}
	if !m.Expires.Equal(e.clk.Now().Add(24 * time.Hour)) {
		t.Fatalf("expires %v", m.Expires)
	}
	if _, err := e.s.Lookup(ctx, tok+"x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("wrong token: %v", err)
	}
	c, err := e.s.Open(ctx, m.ID)
	if err != nil || c.Subject != "Your lab results" || !bytes.Equal(c.Attachments[0].Data, []byte("%PDF-1.4 lab report")) {
		t.Fatalf("open: %+v %v", c, err)
	}
	if _, err := e.s.Put(ctx, sample()); err == nil {
		t.Fatal("duplicate ID accepted")
	}
	if n, err := e.s.Count(ctx); err != nil || n != 1 {
		t.Fatalf("count %d %v", n, err)
	}
	list, err := e.s.List(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("list %v %v", list, err)
	}
}

func testNothingPlainAtRest(t *testing.T, e env) {
	tok, err := e.s.Put(context.Background(), sample())
	if err != nil {
		t.Fatal(err)
	}
	raw := e.atRest(t)
	if len(raw) == 0 {
		t.Fatal("read nothing at rest")
	}
	for _, secret := range []string{tok, "lab results", "Potassium", "results.pdf", "%PDF", "application/pdf"} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("%q found at rest", secret)
		}
	}
}

func testRevoke(t *testing.T, e env) {
	ctx := context.Background()
	if _, err := e.s.Put(ctx, sample()); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Revoke(ctx, "q1.0", "operator"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Open(ctx, "q1.0"); !errors.Is(err, ErrGone) {
		t.Fatalf("open after revoke: %v", err)
	}
	if _, err := e.s.blobs.get(ctx, "q1.0"); !errors.Is(err, ErrGone) {
		t.Fatalf("encrypted content still there: %v", err)
	}
	if err := e.s.Revoke(ctx, "q1.0", "operator"); !errors.Is(err, ErrGone) {
		t.Fatalf("second revoke: %v", err)
	}
	if err := e.s.Revoke(ctx, "nope", "operator"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("revoke unknown: %v", err)
	}
	wantKinds(t, e, "q1.0", EventCreated, EventRevoke)
}

func testExpiry(t *testing.T, e env) {
	ctx := context.Background()
	it := sample()
	it.Expires = e.clk.Now().Add(time.Hour)
	if _, err := e.s.Put(ctx, it); err != nil {
		t.Fatal(err)
	}
	if n, err := e.s.Purge(ctx); err != nil || n != 0 {
		t.Fatalf("early purge removed %d: %v", n, err)
	}
	e.clk.Add(time.Hour)
	if _, err := e.s.Open(ctx, "q1.0"); !errors.Is(err, ErrGone) {
		t.Fatalf("open after expiry: %v", err)
	}
	if n, err := e.s.Purge(ctx); err != nil || n != 1 {
		t.Fatalf("purge removed %d: %v", n, err)
	}
	if _, err := e.s.blobs.get(ctx, "q1.0"); !errors.Is(err, ErrGone) {
		t.Fatalf("encrypted content still there: %v", err)
	}
	if n, _ := e.s.Count(ctx); n != 0 {
		t.Fatalf("count after expiry %d", n)
	}
	m, err := e.s.Get(ctx, "q1.0")
	if err != nil || m.Deleted.IsZero() {
		t.Fatalf("metadata after purge: %+v %v", m, err)
	}
	wantKinds(t, e, "q1.0", EventCreated, EventExpire)
}

var policy = CodePolicy{TTL: 10 * time.Minute, MaxAttempts: 3, Lockout: 15 * time.Minute}

func testCode(t *testing.T, e env) {
	ctx := context.Background()
	e.s.Put(ctx, sample())
	good, bad := []byte("good-hash"), []byte("bad-hash")
	if err := e.s.CheckCode(ctx, "q1.0", good, policy); !errors.Is(err, ErrCodeWrong) {
		t.Fatalf("check before any code: %v", err)
	}
	if err := e.s.SetCode(ctx, "q1.0", good, policy); err != nil {
		t.Fatal(err)
	}
	if err := e.s.CheckCode(ctx, "q1.0", bad, policy); !errors.Is(err, ErrCodeWrong) {
		t.Fatalf("bad code: %v", err)
	}
	if err := e.s.CheckCode(ctx, "q1.0", good, policy); err != nil {
		t.Fatalf("good code: %v", err)
	}
	if err := e.s.CheckCode(ctx, "q1.0", good, policy); !errors.Is(err, ErrCodeWrong) {
		t.Fatalf("replayed code: %v", err)
	}
	e.s.SetCode(ctx, "q1.0", good, policy)
	e.clk.Add(policy.TTL)
	if err := e.s.CheckCode(ctx, "q1.0", good, policy); !errors.Is(err, ErrCodeWrong) {
		t.Fatalf("expired code: %v", err)
	}
	if err := e.s.SetCode(ctx, "nope", good, policy); !errors.Is(err, ErrNotFound) {
		t.Fatalf("code for unknown message: %v", err)
	}
}

func testCodeLockout(t *testing.T, e env) {
	ctx := context.Background()
	e.s.Put(ctx, sample())
	good := []byte("good-hash")
	e.s.SetCode(ctx, "q1.0", good, policy)
	for i := 0; i < policy.MaxAttempts-1; i++ {
		if err := e.s.CheckCode(ctx, "q1.0", []byte{byte(i)}, policy); !errors.Is(err, ErrCodeWrong) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if err := e.s.CheckCode(ctx, "q1.0", []byte("last"), policy); !errors.Is(err, ErrLocked) {
		t.Fatalf("last attempt: %v", err)
	}
	if err := e.s.CheckCode(ctx, "q1.0", good, policy); !errors.Is(err, ErrLocked) {
		t.Fatalf("good code while locked: %v", err)
	}
	if err := e.s.SetCode(ctx, "q1.0", good, policy); !errors.Is(err, ErrLocked) {
		t.Fatalf("new code while locked: %v", err)
	}
	e.clk.Add(policy.Lockout)
	if err := e.s.SetCode(ctx, "q1.0", good, policy); err != nil {
		t.Fatalf("new code after lockout: %v", err)
	}
	if err := e.s.CheckCode(ctx, "q1.0", good, policy); err != nil {
		t.Fatalf("good code after lockout: %v", err)
	}
}

// testNewCodeKeepsAttempts: asking for a new code after each wrong guess
// does not reset the count.
func testNewCodeKeepsAttempts(t *testing.T, e env) {
	ctx := context.Background()
	e.s.Put(ctx, sample())
	var err error
	for i := 0; i < policy.MaxAttempts; i++ {
		if err := e.s.SetCode(ctx, "q1.0", []byte("good-hash"), policy); err != nil {
			t.Fatalf("code %d: %v", i, err)
		}
		err = e.s.CheckCode(ctx, "q1.0", []byte("guess"), policy)
	}
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("after %d guesses over fresh codes: %v", policy.MaxAttempts, err)
	}
}

func testParallelGuesses(t *testing.T, e env) {
	ctx := context.Background()
	e.s.Put(ctx, sample())
	e.s.SetCode(ctx, "q1.0", []byte("good-hash"), policy)
	var wg sync.WaitGroup
	var mu sync.Mutex
	wrong := 0
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := e.s.CheckCode(ctx, "q1.0", []byte("guess"), policy)
			mu.Lock()
			defer mu.Unlock()
			if errors.Is(err, ErrCodeWrong) {
				wrong++
			} else if !errors.Is(err, ErrLocked) {
				t.Errorf("guess: %v", err)
			}
		}()
	}
	wg.Wait()
	if wrong != policy.MaxAttempts-1 {
		t.Fatalf("%d guesses counted as merely wrong, want %d", wrong, policy.MaxAttempts-1)
	}
}

func testBadID(t *testing.T, e env) {
	for _, id := range []string{"../etc", ".hidden", "a/b", string(make([]byte, 65))} {
		it := sample()
		it.ID = id
		if _, err := e.s.Put(context.Background(), it); err == nil {
			t.Errorf("ID %q accepted", id)
		}
	}
	it := sample()
	it.ID = ""
	if _, err := e.s.Put(context.Background(), it); err != nil {
		t.Fatalf("generated ID: %v", err)
	}
}

func wantKinds(t *testing.T, e env, id string, kinds ...string) {
	t.Helper()
	evs, err := e.s.Audit(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range evs {
		got = append(got, ev.Kind)
	}
	if len(got) != len(kinds) {
		t.Fatalf("audit kinds %v, want %v", got, kinds)
	}
	for i := range kinds {
		if got[i] != kinds[i] {
			t.Fatalf("audit kinds %v, want %v", got, kinds)
		}
	}
}

func testCredentials(t *testing.T, e env) {
	ctx := context.Background()
	c, err := e.s.Credentials(ctx, "Pat@Home.example")
	if err != nil || c.PasswordHash != "" || c.TOTPSecret != nil {
		t.Fatalf("fresh credentials %+v %v", c, err)
	}
	if err := e.s.SetPassword(ctx, "Pat@Home.example", "hash-1"); err != nil {
		t.Fatal(err)
	}
	if err := e.s.SetPassword(ctx, "pat@home.example", "hash-2"); !errors.Is(err, ErrExists) {
		t.Fatalf("second password: %v", err)
	}
	secret := []byte("0123456789abcdefghij")
	if err := e.s.SetTOTP(ctx, "pat@home.example", secret, 100); err != nil {
		t.Fatal(err)
	}
	if err := e.s.SetTOTP(ctx, "pat@home.example", []byte("other"), 100); !errors.Is(err, ErrExists) {
		t.Fatalf("second enrolment: %v", err)
	}
	c, _ = e.s.Credentials(ctx, "PAT@home.example")
	if c.PasswordHash != "hash-1" || !bytes.Equal(c.TOTPSecret, secret) {
		t.Fatalf("credentials %+v", c)
	}
	if bytes.Contains(e.atRest(t), secret) {
		t.Fatal("TOTP secret stored in the clear")
	}
	if err := e.s.UseTOTPStep(ctx, "pat@home.example", 100); !errors.Is(err, ErrReplay) {
		t.Fatalf("enrolment step reused: %v", err)
	}
	if err := e.s.UseTOTPStep(ctx, "pat@home.example", 101); err != nil {
		t.Fatal(err)
	}
}

func testSessions(t *testing.T, e env) {
	ctx := context.Background()
	now := e.clk.Now()
	if err := e.s.PutSession(ctx, "cookie-1", []byte(`{"csrf":"secret-csrf"}`), now); err != nil {
		t.Fatal(err)
	}
	if err := e.s.PutSession(ctx, "cookie-1", []byte(`{"csrf":"secret-csrf-2"}`), now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	data, seen, err := e.s.GetSession(ctx, "cookie-1")
	if err != nil || string(data) != `{"csrf":"secret-csrf-2"}` || !seen.Equal(now.Add(time.Minute)) {
		t.Fatalf("session %q %v %v", data, seen, err)
	}
	if bytes.Contains(e.atRest(t), []byte("secret-csrf")) || bytes.Contains(e.atRest(t), []byte("cookie-1")) {
		t.Fatal("session stored in the clear")
	}
	e.s.PutSession(ctx, "cookie-2", []byte("{}"), now.Add(-time.Hour))
	if n, err := e.s.SweepSessions(ctx, now); err != nil || n != 1 {
		t.Fatalf("sweep left %d: %v", n, err)
	}
	e.s.DeleteSession(ctx, "cookie-1")
	if _, _, err := e.s.GetSession(ctx, "cookie-1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted session: %v", err)
	}
}

// testMaster is a fixed portal master key for tests.
func testMaster(t testing.TB) *keywrap.Master {
	t.Helper()
	m, err := keywrap.NewMaster(bytes.Repeat([]byte{7}, keywrap.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return m
}
