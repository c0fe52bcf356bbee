package smtpd

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A draining node answers new sessions 421 4.3.2; a session already in a
// transaction finishes it (its message is accepted) and may not start
// another; after SetDraining(false) mail is taken again.
func TestDrainingRefusesNewSessionsFinishesOpenOnes(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	open := h.submit(t)
	if err := open.Mail("news@news.example.org", nil); err != nil {
		t.Fatal(err)
	}
	if err := open.Rcpt("x@example.net", nil); err != nil {
		t.Fatal(err)
	}
	h.srv.SetDraining(true)

	conn, err := net.DialTimeout("tcp", h.relay, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 512)
	n, _ := conn.Read(buf)
	conn.Close()
	if greeting := string(buf[:n]); !strings.HasPrefix(greeting, "421 4.3.2 ") || !strings.Contains(greeting, "draining") {
		t.Fatalf("new session while draining greeted %q, want 421 4.3.2 ... draining", greeting)
	}

	w, err := open.Data()
	if err != nil {
		t.Fatalf("open transaction cut off by drain: %v", err)
	}
	w.Write([]byte(message("news@news.example.org", "x@example.net", "hi")))
	if err := w.Close(); err != nil {
		t.Fatalf("open transaction's DATA refused: %v", err)
	}
	if h.q.count() != 1 {
		t.Fatalf("%d messages queued, want the open transaction's one", h.q.count())
	}
	var se *smtp.SMTPError
	if err := open.Mail("news@news.example.org", nil); !errors.As(err, &se) || se.Code != 421 {
		t.Fatalf("second MAIL while draining: %v, want 421", err)
	}
	if got := testutil.ToFloat64(h.srv.m.rejected.WithLabelValues("draining")); got < 2 {
		t.Errorf("draining rejections %v, want at least 2", got)
	}

	if _, err := h.srv.Submit(context.Background(), Submission{Client: "ehr", From: "lab@clinic.example.org",
		To: []string{"x@example.net"}, Body: []byte(message("lab@clinic.example.org", "x@example.net", "hi"))}); err == nil {
		t.Fatal("Submit accepted while draining")
	} else if _, code, _, _ := Refusal(err); code != 421 {
		t.Fatalf("Submit while draining: code %d, want 421", code)
	}

	h.srv.SetDraining(false)
	c := h.submit(t)
	if err := send(c, "news@news.example.org", "x@example.net", message("news@news.example.org", "x@example.net", "again")); err != nil {
		t.Fatalf("after resume: %v", err)
	}
}
