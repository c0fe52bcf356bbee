package unsubscribe

import (
	"bytes"
	"context"
	"strings"
	"testing"

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
	got := string(AddHeaders([]byte(msg), "https://p.test/u/T", "u@news.test", "T"))
	want := "List-Unsubscribe: <https://p.test/u/T>, <mailto:u@news.test?subject=unsubscribe%20T>\r\n" +
		"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\nFrom: a@news.test\r\nSubject: hi\r\n\r\nbody\r\nList-Unsubscribe: in the body\r\n"
	if got != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
	if got := string(AddHeaders([]byte("From: a@b.test\r\n\r\nx\r\n"), "https://p.test/u/T", "", "T")); !strings.HasPrefix(got, "List-Unsubscribe: <https://p.test/u/T>\r\n") {
		t.Fatalf("without mailto: %q", got)
	}
	// A header that does not read is left as it is, for the signer after
	// this courier to refuse.
	bad := "From: a@b.test\r\nList-Unsubscribe: <x>\r\nX: a\x00b\r\n\r\nbody\r\n"
	if got := string(AddHeaders([]byte(bad), "https://p.test/u/T", "", "T")); got != bad {
		t.Fatalf("unreadable header: %q", got)
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
