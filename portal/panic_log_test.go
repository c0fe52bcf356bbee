package portal

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sealgate/sealgate/internal/testenv"
)

// A panic while serving a link logs the route, never the path: the path
// of a link holds its token (the old log line kept its first characters).
func TestPanicLogHasNoLinkToken(t *testing.T) {
	t.Parallel()
	var buf testenv.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	h := newHarness(t, func(o *Options) { o.Log = log })

	mux := http.NewServeMux()
	mux.HandleFunc("GET /m/{token}", func(http.ResponseWriter, *http.Request) { panic("boom") })
	const token = "Zq8xTOKENsecretPART0123456789abcdef"
	rec := httptest.NewRecorder()
	h.srv.guard(mux).ServeHTTP(rec, httptest.NewRequest("GET", "/m/"+token, nil))

	if rec.Code != http.StatusInternalServerError {
		t.Errorf("status %d, want 500", rec.Code)
	}
	got := buf.String()
	if !strings.Contains(got, "panic in handler") || !strings.Contains(got, "/m/{token}") {
		t.Fatalf("log line without the route:\n%s", got)
	}
	if strings.Contains(got, token[:6]) {
		t.Errorf("log carries part of the link token:\n%s", got)
	}
	if strings.Contains(rec.Body.String(), token[:6]) {
		t.Errorf("response carries part of the link token: %q", rec.Body.String())
	}
}
