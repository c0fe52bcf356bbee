package verp

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/sealgate/sealgate/mail"
)

func testAddresses(t *testing.T) *Addresses {
	t.Helper()
	tok, err := NewTokens(bytes.Repeat([]byte{7}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return &Addresses{Tokens: tok, Domain: "bounce.example.org"}
}

const qid = "0123456789abcdef01234567"

// A bounce address round-trips to its reference in any letter case, fits
// the 64-octet local part, and differs per recipient and per message.
func TestAddressRoundTrip(t *testing.T) {
	a := testAddresses(t)
	addr, ref, err := a.Address(qid, "Pat@Example.NET")
	if err != nil {
		t.Fatal(err)
	}
	local, _, _ := strings.Cut(addr, "@")
	if len(local) > 64 || !strings.HasPrefix(addr, "bounces+") || !strings.HasSuffix(addr, "@bounce.example.org") {
		t.Fatalf("address %q", addr)
	}
	if QueueID(ref) != qid {
		t.Fatalf("ref %q names queue ID %q", ref, QueueID(ref))
	}
	for _, spelling := range []string{addr, strings.ToUpper(addr)} {
		if got, err := a.Parse(spelling); err != nil || got != ref {
			t.Errorf("Parse(%q) = %q, %v; want %q", spelling, got, err, ref)
		}
	}
	same, _, _ := a.Address(qid, "pat@example.net")
	other, _, _ := a.Address(qid, "sam@example.net")
	later, _, _ := a.Address("0123456789abcdef01234568", "pat@example.net")
	if same != addr || other == addr || later == addr {
		t.Errorf("addresses: same %v, other recipient differs %v, other message differs %v", same == addr, other != addr, later != addr)
	}
}

// Forged, altered, foreign and malformed addresses do not verify.
func TestParseRefusesForgeries(t *testing.T) {
	a := testAddresses(t)
	addr, _, _ := a.Address(qid, "pat@example.net")
	local, _, _ := strings.Cut(addr, "@")
	otherKey, _ := NewTokens(bytes.Repeat([]byte{8}, KeySize))
	foreign, _, _ := (&Addresses{Tokens: otherKey, Domain: "bounce.example.org"}).Address(qid, "pat@example.net")
	bad := []string{"", "pat@example.net", "bounces@bounce.example.org", local + "@other.example.org",
		"bounces+" + strings.Repeat("a", TokenLen) + "@bounce.example.org", foreign,
		strings.Replace(addr, "bounces+", "bouncez+", 1), local + "x@bounce.example.org", local[:len(local)-1] + "@bounce.example.org"}
	for i := len("bounces+"); i < len(local); i++ {
		b := []byte(local)
		b[i] = map[bool]byte{true: 'b', false: 'a'}[b[i] == 'a']
		bad = append(bad, string(b)+"@bounce.example.org")
	}
	for _, s := range bad {
		if ref, err := a.Parse(s); err == nil {
			t.Errorf("Parse(%q) = %q, want an error", s, ref)
		}
	}
	if _, _, err := a.Address("not-a-queue-id", "pat@example.net"); err == nil {
		t.Error("a malformed queue ID made an address")
	}
}

// Find picks a valid bounce address out of a Return-Path field.
func TestFind(t *testing.T) {
	a := testAddresses(t)
	addr, ref, _ := a.Address(qid, "pat@example.net")
	if got, ok := a.Find("<" + strings.ToUpper(addr) + ">"); !ok || got != ref {
		t.Errorf("Find = %q, %v; want %q", got, ok, ref)
	}
	if _, ok := a.Find("<bounces+" + strings.Repeat("a", TokenLen) + "@bounce.example.org> " + "bounces+"); ok {
		t.Error("Find accepted a token that does not verify")
	}
}

type memory struct {
	got  []Recipient
	fail error
}

func (m *memory) RememberRecipients(_ context.Context, rs []Recipient) error {
	m.got = append(m.got, rs...)
	return m.fail
}

type recorder struct{ seen []*mail.Delivery }

func (r *recorder) Deliver(_ context.Context, d *mail.Delivery) []mail.Outcome {
	r.seen = append(r.seen, d)
	out := make([]mail.Outcome, len(d.Rcpts))
	for i, rc := range d.Rcpts {
		out[i] = mail.Outcome{Rcpt: rc.Addr}
	}
	return out
}

// The courier remembers every recipient before delivery and sends one
// copy per recipient with its own return path; other clients' mail, and
// mail whose recipients cannot be remembered, keep the sender's.
func TestCourier(t *testing.T) {
	a := testAddresses(t)
	mem, next := &memory{}, &recorder{}
	c := &Courier{Addresses: a, Memory: mem, Use: func(c string) bool { return c == "news" }, Next: next,
		Failed: func(string, error) {}}
	d := &mail.Delivery{QueueID: qid, From: "news@Clinic.example.org", Client: "news",
		Rcpts: []mail.Rcpt{{Addr: "a@example.net"}, {Addr: "b@example.net"}}}
	if out := c.Deliver(context.Background(), d); len(out) != 2 {
		t.Fatalf("outcomes %v", out)
	}
	if len(next.seen) != 2 || len(mem.got) != 2 || mem.got[0].Domain != "clinic.example.org" || mem.got[1].Address != "b@example.net" {
		t.Fatalf("deliveries %d, remembered %+v", len(next.seen), mem.got)
	}
	for i, s := range next.seen {
		ref, err := a.Parse(s.From)
		if err != nil || ref != mem.got[i].Ref || len(s.Rcpts) != 1 {
			t.Errorf("copy %d: from %q (%v), rcpts %v", i, s.From, err, s.Rcpts)
		}
	}
	next.seen = nil
	c.Deliver(context.Background(), &mail.Delivery{QueueID: qid, From: "ehr@clinic.example.org", Client: "ehr", Rcpts: d.Rcpts})
	mem.fail = context.Canceled
	c.Deliver(context.Background(), d)
	if len(next.seen) != 2 || next.seen[0].From != "ehr@clinic.example.org" || next.seen[1].From != d.From {
		t.Fatalf("unchanged return paths: %+v", next.seen)
	}
}

// FuzzParse: no input panics, and whatever verifies is the canonical
// address of its reference's token.
func FuzzParse(f *testing.F) {
	tok, _ := NewTokens(bytes.Repeat([]byte{7}, KeySize))
	a := &Addresses{Tokens: tok, Domain: "bounce.example.org"}
	good, _, _ := a.Address(qid, "pat@example.net")
	f.Add(good)
	f.Add("bounces+@bounce.example.org")
	f.Add(strings.ToUpper(good))
	f.Fuzz(func(t *testing.T, s string) {
		ref, err := a.Parse(s)
		if err != nil {
			return
		}
		if !strings.EqualFold(strings.TrimSuffix(s, "."), good) || QueueID(ref) != qid {
			t.Fatalf("%q verified as %q", s, ref)
		}
	})
}
