package stats

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// Rates are of the recipients sent (complaints: of those delivered), and
// the providers' thresholds are marked.
func TestSummarise(t *testing.T) {
	ds := Summarise([]Count{
		{Domain: "b.test", Counter: Sent, N: 1000}, {Domain: "b.test", Counter: Delivered, N: 950},
		{Domain: "b.test", Counter: BouncedHard, N: 30}, {Domain: "b.test", Counter: BouncedSoft, N: 20},
		{Domain: "a.test", Counter: Sent, N: 10000}, {Domain: "a.test", Counter: Delivered, N: 10000},
		{Domain: "a.test", Counter: Complaints, N: 12},
		{Domain: "c.test", Counter: Sent, N: 1000}, {Domain: "c.test", Counter: Delivered, N: 1000},
		{Domain: "c.test", Counter: Complaints, N: 3},
	})
	if len(ds) != 3 || ds[0].Domain != "a.test" {
		t.Fatalf("%+v", ds)
	}
	a, b, c := ds[0], ds[1], ds[2]
	// 3 complaints in 1000 delivered is Gmail's and Yahoo's 0.3 % limit.
	if c.ComplaintRate != 0.3 || len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "0.3% (Gmail/Yahoo limit)") {
		t.Errorf("c: complaint %v warnings %q", c.ComplaintRate, c.Warnings)
	}
	if a.ComplaintRate != 0.12 || len(a.Warnings) != 1 || !strings.Contains(a.Warnings[0], "advice") {
		t.Errorf("a: complaint %v warnings %q", a.ComplaintRate, a.Warnings)
	}
	if b.DeliveryRate != 95 || b.BounceRate != 5 || b.HardRate != 3 || len(b.Warnings) != 1 || !strings.Contains(b.Warnings[0], "hard bounce") {
		t.Errorf("b: %+v", b)
	}
	if b.Counts[Unsubscribes] != 0 || len(b.Counts) != len(Counters) {
		t.Errorf("every counter is reported: %v", b.Counts)
	}
	var out bytes.Buffer
	if err := Print(&out, ds); err != nil || !strings.Contains(out.String(), "! a.test: complaint rate 0.12%") ||
		!strings.Contains(out.String(), "! c.test: complaint rate 0.30% at or over 0.3%") {
		t.Errorf("print: %v\n%s", err, out.String())
	}
}

type sink struct {
	got  []Count
	fail bool
}

func (s *sink) AddStats(_ context.Context, cs []Count) error {
	if s.fail {
		return errors.New("store down")
	}
	s.got = append(s.got, cs...)
	return nil
}

// Counts are batched per domain, counter and hour; a failed write keeps
// them for the next one; Close writes the rest.
func TestRecorder(t *testing.T) {
	s := &sink{fail: true}
	r := NewRecorder(s, slog.New(slog.NewTextHandler(io.Discard, nil)))
	r.now = func() time.Time { return time.Date(2026, 12, 6, 10, 30, 0, 0, time.UTC) }
	r.Add("a.test", Sent, 2)
	r.Add("a.test", Sent, 3)
	r.Add("", Sent, 1) // the null sender is not counted
	if err := r.Flush(context.Background()); err == nil {
		t.Fatal("a failed write reported no error")
	}
	s.fail = false
	r.Add("a.test", Delivered, 1)
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{Sent: 5, Delivered: 1}
	if len(s.got) != 2 {
		t.Fatalf("wrote %+v", s.got)
	}
	for _, c := range s.got {
		if c.Domain != "a.test" || c.N != want[c.Counter] || !c.Hour.Equal(time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)) {
			t.Errorf("count %+v", c)
		}
	}
}
