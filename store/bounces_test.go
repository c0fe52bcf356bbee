package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sealgate/sealgate/stats"
	"github.com/sealgate/sealgate/verp"
)

// Bounce addresses' recipients are remembered once (a retry keeps the
// first record), found by reference, and forgotten after the cutoff.
func testBounceRecipients(t *testing.T, e env) {
	ctx := context.Background()
	at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	r := verp.Recipient{Ref: "ref1", QueueID: "q1", Domain: "clinic.test", Address: "pat@home.test", Client: "news", At: at}
	if err := e.s.RememberRecipients(ctx, []verp.Recipient{r, {Ref: "ref2", QueueID: "q1", Domain: "clinic.test", Address: "sam@home.test", Client: "news", At: at.Add(48 * time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	again := r
	again.Address = "other@home.test"
	if err := e.s.RememberRecipients(ctx, []verp.Recipient{again}); err != nil {
		t.Fatal(err)
	}
	got, err := e.s.BounceRecipient(ctx, "ref1")
	if err != nil || got != r {
		t.Fatalf("BounceRecipient = %+v, %v; want %+v", got, err, r)
	}
	if _, err := e.s.BounceRecipient(ctx, "nope"); !errors.Is(err, ErrUnknownRecipient) {
		t.Fatalf("unknown ref: %v", err)
	}
	if n, err := e.s.ForgetRecipients(ctx, at.Add(time.Hour)); n != 1 || err != nil {
		t.Fatalf("forgot %d, %v; want 1", n, err)
	}
	if _, err := e.s.BounceRecipient(ctx, "ref1"); !errors.Is(err, ErrUnknownRecipient) {
		t.Fatalf("forgotten ref: %v", err)
	}
	if _, err := e.s.BounceRecipient(ctx, "ref2"); err != nil {
		t.Fatalf("kept ref: %v", err)
	}
}

// Counts add up per domain, hour and counter, and Stats sums the hours
// from the one holding since.
func testStats(t *testing.T, e env) {
	ctx := context.Background()
	h := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	add := func(cs ...stats.Count) {
		if err := e.s.AddStats(ctx, cs); err != nil {
			t.Fatal(err)
		}
	}
	add(stats.Count{Domain: "a.test", Hour: h, Counter: stats.Sent, N: 3}, stats.Count{Domain: "b.test", Hour: h, Counter: stats.Sent, N: 1})
	add(stats.Count{Domain: "a.test", Hour: h, Counter: stats.Sent, N: 4}, stats.Count{Domain: "a.test", Hour: h.Add(-2 * time.Hour), Counter: stats.Sent, N: 100},
		stats.Count{Domain: "a.test", Hour: h.Add(time.Hour), Counter: stats.Complaints, N: 2})
	got, err := e.s.Stats(ctx, h.Add(30*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	want := []stats.Count{{Domain: "a.test", Counter: stats.Complaints, N: 2}, {Domain: "a.test", Counter: stats.Sent, N: 7},
		{Domain: "b.test", Counter: stats.Sent, N: 1}}
	if len(got) != len(want) {
		t.Fatalf("Stats = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Stats[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
}
