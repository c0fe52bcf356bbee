package portal

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sealgate/sealgate/internal/testenv"
)

func TestSessionsSweptWithoutScrapes(t *testing.T) {
	clk := testenv.NewClock(time.Unix(1_800_000_000, 0))
	ss := newSessions(time.Minute, clk.Now)
	old := ss.create("m1")
	clk.Add(2 * time.Minute)
	ss.create("m2") // creating a session sweeps the idle ones
	ss.mu.Lock()
	_, kept := ss.m[old.id]
	n := len(ss.m)
	ss.mu.Unlock()
	if kept || n != 1 {
		t.Fatalf("idle session kept (%d sessions)", n)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(&http.Cookie{Name: cookieName, Value: old.id})
	if _, _, ok := ss.get(r); ok {
		t.Fatal("swept session still works")
	}
}
