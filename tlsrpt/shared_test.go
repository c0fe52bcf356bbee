package tlsrpt_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/sealgate/sealgate/dnsclient"
	"github.com/sealgate/sealgate/dnsclient/dnstest"
	"github.com/sealgate/sealgate/internal/pgtest"
	"github.com/sealgate/sealgate/store"
	"github.com/sealgate/sealgate/tlsrpt"
)

// TestSharedDaily: two nodes on one PostgreSQL record half of the day's
// results each; one report covers both halves and goes out once. A report
// that fails releases its claim and a later run sends it.
func TestSharedDaily(t *testing.T) {
	url := pgtest.URL(t)
	var mu sync.Mutex
	var reports []tlsrpt.Report
	fail := true
	hs := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			fail = false
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			t.Error(err)
			return
		}
		var rep tlsrpt.Report
		b, _ := io.ReadAll(zr)
		if err := json.NewDecoder(bytes.NewReader(b)).Decode(&rep); err != nil {
			t.Error(err)
		}
		if err := tlsrpt.Validate(b); err != nil {
			t.Error(err)
		}
		reports = append(reports, rep)
	}))
	t.Cleanup(hs.Close)
	srv := dnstest.Start(t)
	srv.Add(t, `_smtp._tls.partner.test. 60 IN TXT "v=TLSRPTv1; rua=`+hs.URL+`/r"`)
	res, _ := dnsclient.New(dnsclient.Config{Servers: []string{srv.Addr}})

	node := func() *tlsrpt.Store {
		db, err := store.OpenDB(context.Background(), store.Options{Backend: url})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		s, err := tlsrpt.NewStore(tlsrpt.StoreConfig{Shared: db})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b := node(), node()
	for i, r := range results() {
		if i%2 == 0 {
			a.Record(r)
		} else {
			b.Record(r)
		}
	}
	if err := b.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	send := func(s *tlsrpt.Store, name string) (int, error) {
		return tlsrpt.SendDaily(context.Background(), tlsrpt.DailyRequest{Store: s, Resolver: res, Day: day,
			Organization: "Example Clinic", Contact: "postmaster@clinic.test", Submitter: name,
			From: "tlsrpt@clinic.test", HTTP: hs.Client()})
	}
	if n, err := send(a, "a.clinic.test"); err == nil || n != 0 {
		t.Fatalf("a report the receiver refused counts as sent (%d, %v)", n, err)
	}
	var wg sync.WaitGroup
	sent := make([]int, 2)
	for i, s := range []*tlsrpt.Store{a, b} {
		wg.Go(func() {
			n, err := send(s, []string{"a.clinic.test", "b.clinic.test"}[i])
			if err != nil && !errors.Is(err, tlsrpt.ErrReportHeld) { // held: the other is still sending
				t.Error(err)
			}
			sent[i] = n
		})
	}
	wg.Wait()
	for i, s := range []*tlsrpt.Store{a, b} { // a later run sends nothing more
		if n, err := send(s, []string{"a.clinic.test", "b.clinic.test"}[i]); err != nil || n != 0 {
			t.Errorf("a second run sent %d (%v)", n, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if sent[0]+sent[1] != 1 || len(reports) != 1 {
		t.Fatalf("sent %v, %d reports received; want one report", sent, len(reports))
	}
	wantTotals(t, reports[0])
}

// wantTotals checks that rep counts every result of results() on day for
// partner.test, whichever node recorded it.
func wantTotals(t *testing.T, rep tlsrpt.Report) {
	t.Helper()
	got := map[string][2]int{}
	expired := 0
	for _, p := range rep.Policies {
		got[p.Policy.PolicyType] = [2]int{p.Summary.TotalSuccessful, p.Summary.TotalFailure}
		for _, fd := range p.FailureDetails {
			if fd.ResultType == tlsrpt.ResultCertExpired {
				expired = fd.FailedSessionCount
			}
		}
	}
	if expired != 2 { // one from each node, one failure detail
		t.Errorf("certificate-expired sessions %d, want 2", expired)
	}
	want := map[string][2]int{tlsrpt.PolicySTS: {2, 3}, tlsrpt.PolicyTLSA: {0, 1}}
	if len(got) != len(want) || got[tlsrpt.PolicySTS] != want[tlsrpt.PolicySTS] || got[tlsrpt.PolicyTLSA] != want[tlsrpt.PolicyTLSA] {
		t.Errorf("policy totals %v, want %v", got, want)
	}
}
