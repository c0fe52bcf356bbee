package unsubscribe

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sealgate/sealgate/internal/hostile"
	"github.com/sealgate/sealgate/mail"
)

func tokens(t *testing.T, b byte) *Tokens {
	t.Helper()
	tk, err := NewTokens(bytes.Repeat([]byte{b}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func TestTokens(t *testing.T) {
	tk := tokens(t, 7)
	tok := tk.Make("News.Clinic.test", "Pat@Example.net")
	d, a, err := tk.Open(tok)
	if err != nil || d != "news.clinic.test" || a != "pat@example.net" {
		t.Fatalf("Open: %q %q %v", d, a, err)
	}
	if strings.ContainsAny(tok, "/+=@\n") {
		t.Fatalf("token %q is not URL-safe", tok)
	}
	other := tk.Make("news.clinic.test", "sam@example.net")
	p1, m1, _ := strings.Cut(tok, ".")
	p2, _, _ := strings.Cut(other, ".")
	for _, bad := range []string{
		p2 + "." + m1, // another address under this MAC
		tokens(t, 8).Make("news.clinic.test", "pat@example.net"), // another key
		p1, p1 + ".", "." + m1, tok + "A", "", strings.Repeat("A", 3000) + "." + m1,
	} {
		if _, _, err := tk.Open(bad); err != ErrBadToken {
			t.Errorf("Open(%.40q) = %v, want ErrBadToken", bad, err)
		}
	}
	if _, err := NewTokens([]byte("short")); err == nil {
		t.Fatal("short key accepted")
	}
}

func TestAddHeaders(t *testing.T) {
	msg := "From: a@news.test\r\nList-Unsubscribe: <https://elsewhere.test/x>,\r\n <mailto:x@elsewhere.test>\r\n" +
		"Subject: hi\r\nlist-unsubscribe-post: List-Unsubscribe=One-Click\r\n\r\nbody\r\nList-Unsubscribe: in the body\r\n"
	got := string(addHeaders(t, msg, "u@news.test"))
	want := "List-Unsubscribe: <https://p.test/u/T>, <mailto:u@news.test?subject=unsubscribe%20T>\r\n" +
		"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\nFrom: a@news.test\r\nSubject: hi\r\n\r\nbody\r\nList-Unsubscribe: in the body\r\n"
	if got != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
	if got := string(addHeaders(t, "From: a@b.test\r\n\r\nx\r\n", "")); !strings.HasPrefix(got, "List-Unsubscribe: <https://p.test/u/T>\r\n") {
		t.Fatalf("without mailto: %q", got)
	}
}

func addHeaders(t *testing.T, msg, mailto string) []byte {
	t.Helper()
	out, err := AddHeaders([]byte(msg), "https://p.test/u/T", mailto, "T")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestHostileHeaders: marketing mail whose header does not read (the shared
// table) is refused, each recipient bounced with ErrMalformed, rather than
// sent without sealgate's link or with one a hidden field might
// contradict; nothing reaches the next courier.
func TestHostileHeaders(t *testing.T) {
	rec := &recorder{}
	c := &Courier{Tokens: tokens(t, 1), BaseURL: "https://p.test/", Marketing: func(string) bool { return true }, Next: rec}
	for _, h := range hostile.Headers() {
		if _, err := AddHeaders(h.Msg, "https://p.test/u/T", "", "T"); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: AddHeaders: %v", h.Name, err)
		}
		out := c.Deliver(context.Background(), &mail.Delivery{From: "a@news.test", Client: "news",
			Rcpts: []mail.Rcpt{{Addr: "x@r.test"}}, Body: h.Msg})
		if len(out) != 1 || !errors.Is(out[0].Err, ErrMalformed) || !out[0].Permanent ||
			out[0].Enhanced != mail.StatusUnreadable || !strings.Contains(mail.LocalReason(out[0].Err), "cannot be read") {
			t.Errorf("%s: outcomes %+v", h.Name, out)
		}
	}
	if len(rec.got) != 0 {
		t.Errorf("%d deliveries passed on", len(rec.got))
	}
}

type recorder struct{ got []*mail.Delivery }

func (r *recorder) Deliver(_ context.Context, d *mail.Delivery) []mail.Outcome {
	r.got = append(r.got, d)
	out := make([]mail.Outcome, len(d.Rcpts))
	for i, rc := range d.Rcpts {
		out[i] = mail.Outcome{Rcpt: rc.Addr}
	}
	return out
}

// TestCourier: marketing mail is split per recipient with its own token;
// other clients' mail and bounces pass untouched in one piece.
func TestCourier(t *testing.T) {
	rec := &recorder{}
	tk := tokens(t, 1)
	c := &Courier{Tokens: tk, BaseURL: "https://p.test/", Marketing: func(n string) bool { return n == "news" }, Next: rec}
	body := []byte("From: a@News.test\r\n\r\nhi\r\n")
	rcpts := []mail.Rcpt{{Addr: "x@r.test"}, {Addr: "y@r.test"}}
	out := c.Deliver(context.Background(), &mail.Delivery{From: "a@News.test", Client: "news", Rcpts: rcpts, Body: body})
	if len(out) != 2 || len(rec.got) != 2 {
		t.Fatalf("outcomes %d, deliveries %d", len(out), len(rec.got))
	}
	for i, d := range rec.got {
		link := "https://p.test/u/" + tk.Make("news.test", rcpts[i].Addr)
		if len(d.Rcpts) != 1 || d.Rcpts[0].Addr != rcpts[i].Addr || !bytes.HasPrefix(d.Body, []byte("List-Unsubscribe: <"+link+">\r\n")) {
			t.Fatalf("copy %d: %v %q", i, d.Rcpts, d.Body)
		}
	}
	for _, d := range []*mail.Delivery{{From: "a@news.test", Client: "ehr", Rcpts: rcpts, Body: body},
		{From: "", Client: "news", Rcpts: rcpts, Body: body}} {
		rec.got = nil
		c.Deliver(context.Background(), d)
		if len(rec.got) != 1 || !bytes.Equal(rec.got[0].Body, body) || len(rec.got[0].Rcpts) != 2 {
			t.Fatalf("client %q from %q changed: %+v", d.Client, d.From, rec.got)
		}
	}
}
