package tlsrpt_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sealgate/sealgate/dnsclient"
	"github.com/sealgate/sealgate/dnsclient/dnstest"
	"github.com/sealgate/sealgate/tlsrpt"
)

var day = time.Date(2026, 11, 26, 15, 4, 5, 0, time.UTC)

func results() []tlsrpt.Result {
	sts := []string{"version: STSv1", "mode: enforce", "mx: *.partner.test", "max_age: 86400"}
	r := func(result, mx string) tlsrpt.Result {
		return tlsrpt.Result{Time: day, PolicyType: tlsrpt.PolicySTS, PolicyDomain: "Partner.test", PolicyStrings: sts,
			MXHost: mx, MXPatterns: []string{"*.partner.test"}, SendingIP: "127.0.0.1", ReceivingIP: "127.0.0.2", ResultType: result}
	}
	return []tlsrpt.Result{
		r(tlsrpt.ResultSuccess, "mx1.partner.test"),
		r(tlsrpt.ResultSuccess, "mx1.partner.test"),
		r(tlsrpt.ResultCertExpired, "mx2.partner.test"),
		r(tlsrpt.ResultCertExpired, "mx2.partner.test"),
		r(tlsrpt.ResultSTARTTLSNotSupported, "mx3.partner.test"),
		{Time: day, PolicyType: tlsrpt.PolicyTLSA, PolicyDomain: "partner.test", MXHost: "mx4.partner.test",
			PolicyStrings: []string{"3 1 1 ABCD"}, ResultType: tlsrpt.ResultValidationFailure},
		{Time: day.Add(-24 * time.Hour), PolicyType: tlsrpt.PolicyNotFound, PolicyDomain: "partner.test"},
		{Time: day, PolicyType: tlsrpt.PolicyNotFound, PolicyDomain: "other.test"},
	}
}

func TestRFCExampleValidates(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("testdata/rfc8460-example.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := tlsrpt.Validate(b); err != nil {
		t.Fatal(err)
	}
	bad := map[string]string{
		"unknown field":   strings.Replace(string(b), `"report-id"`, `"reportid"`, 1),
		"bad result type": strings.Replace(string(b), `"certificate-expired"`, `"cert-old"`, 1),
		"counts mismatch": strings.Replace(string(b), `"total-failure-session-count": 303`, `"total-failure-session-count": 302`, 1),
		"local time":      strings.Replace(string(b), `"2016-04-01T00:00:00Z"`, `"2016-04-01T00:00:00+02:00"`, 1),
	}
	for name, doc := range bad {
		if tlsrpt.Validate([]byte(doc)) == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestDailyReport(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := tlsrpt.NewStore(tlsrpt.StoreConfig{Dir: dir, Retention: 100000})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results() {
		s.Record(r)
	}
	_ = s.Close()
	// Counts survive a restart.
	s, err = tlsrpt.NewStore(tlsrpt.StoreConfig{Dir: dir, Retention: 100000})
	if err != nil {
		t.Fatal(err)
	}
	if d := s.Domains(day); len(d) != 2 || d[0] != "other.test" || d[1] != "partner.test" {
		t.Errorf("domains %v", d)
	}
	rep, err := s.Report(tlsrpt.ReportRequest{Domain: "partner.test", Day: day, Organization: "Example Clinic",
		Contact: "postmaster@clinic.test", Submitter: "gw.clinic.test"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(rep)
	if err := tlsrpt.Validate(b); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if len(rep.Policies) != 2 {
		t.Fatalf("policies %+v", rep.Policies)
	}
	var sts tlsrpt.PolicyReport
	for _, p := range rep.Policies {
		if p.Policy.PolicyType == tlsrpt.PolicySTS {
			sts = p
		}
	}
	if sts.Summary.TotalSuccessful != 2 || sts.Summary.TotalFailure != 3 || len(sts.FailureDetails) != 2 ||
		sts.FailureDetails[0].ResultType != tlsrpt.ResultCertExpired || sts.FailureDetails[0].FailedSessionCount != 2 ||
		sts.Policy.MXHost[0] != "*.partner.test" {
		t.Errorf("sts policy report %+v", sts)
	}
	if !strings.Contains(string(b), `"start-datetime":"2026-11-26T00:00:00Z","end-datetime":"2026-11-27T00:00:00Z"`) {
		t.Errorf("date range in %s", b)
	}
	if _, err := s.Report(tlsrpt.ReportRequest{Domain: "nobody.test", Day: day}); err != tlsrpt.ErrNoResults {
		t.Errorf("empty report: %v", err)
	}
	s.Prune(day.AddDate(0, 0, 100001))
	if len(s.Domains(day)) != 0 {
		t.Error("prune kept old results")
	}
}

func TestLookup(t *testing.T) {
	t.Parallel()
	srv := dnstest.Start(t)
	srv.Add(t,
		`_smtp._tls.a.test. 60 IN TXT "v=TLSRPTv1; rua=mailto:tlsrpt@a.test,https://rpt.a.test/v1,ftp://x"`,
		`_smtp._tls.two.test. 60 IN TXT "v=TLSRPTv1; rua=mailto:x@two.test"`,
		`_smtp._tls.two.test. 60 IN TXT "v=TLSRPTv1; rua=mailto:y@two.test"`,
		`_smtp._tls.other.test. 60 IN TXT "v=spf1 -all"`,
	)
	res, err := dnsclient.New(dnsclient.Config{Servers: []string{srv.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rua, err := tlsrpt.Lookup(ctx, res, "a.test")
	if err != nil || len(rua) != 2 || rua[0].String() != "mailto:tlsrpt@a.test" || rua[1].Host != "rpt.a.test" {
		t.Errorf("rua %v %v", rua, err)
	}
	for _, d := range []string{"two.test", "other.test", "none.test"} {
		if _, err := tlsrpt.Lookup(ctx, res, d); err == nil {
			t.Errorf("%s: accepted", d)
		}
	}
}

type mailer struct {
	mu   sync.Mutex
	from string
	to   []string
	msg  []byte
}

func (m *mailer) SendMail(_ context.Context, from string, to []string, msg []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.from, m.to, m.msg = from, to, msg
	return nil
}

func TestSendHTTPSAndMail(t *testing.T) {
	t.Parallel()
	var got []byte
	var ctype string
	hs := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctype = r.Header.Get("Content-Type")
		got, _ = io.ReadAll(r.Body)
	}))
	t.Cleanup(hs.Close)
	s, _ := tlsrpt.NewStore(tlsrpt.StoreConfig{})
	for _, r := range results() {
		s.Record(r)
	}
	rep, err := s.Report(tlsrpt.ReportRequest{Domain: "partner.test", Day: day, Organization: "Example Clinic",
		Contact: "postmaster@clinic.test", Submitter: "gw.clinic.test"})
	if err != nil {
		t.Fatal(err)
	}
	post, _ := url.Parse(hs.URL + "/v1/tlsrpt")
	to, _ := url.Parse("mailto:tlsrpt@partner.test")
	m := &mailer{}
	err = tlsrpt.Send(context.Background(), tlsrpt.SendRequest{Report: rep, Domain: "partner.test",
		Submitter: "gw.clinic.test", From: "tlsrpt@clinic.test", RUA: []*url.URL{post, to}, Mailer: m, HTTP: hs.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "application/tlsrpt+gzip" {
		t.Errorf("content type %q", ctype)
	}
	wantReport(t, got)
	if m.from != "tlsrpt@clinic.test" || len(m.to) != 1 || m.to[0] != "tlsrpt@partner.test" {
		t.Errorf("envelope %q %q", m.from, m.to)
	}
	wantReport(t, attachment(t, m.msg))
}

// wantReport checks a gzipped report.
func wantReport(t *testing.T, gz []byte) {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(zr)
	if err := tlsrpt.Validate(b); err != nil {
		t.Error(err)
	}
}

// attachment checks the report mail's headers (RFC 8460 §5.3) and returns
// the gzipped report it carries.
func attachment(t *testing.T, msg []byte) []byte {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	if m.Header.Get("TLS-Report-Domain") != "partner.test" || m.Header.Get("TLS-Report-Submitter") != "gw.clinic.test" ||
		!strings.HasPrefix(m.Header.Get("Subject"), "Report Domain: partner.test Submitter: gw.clinic.test Report-ID: <") {
		t.Errorf("headers %v", m.Header)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/report" || params["report-type"] != "tlsrpt" {
		t.Fatalf("content type %q %v", mt, params)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatal("no report part")
		}
		if p.Header.Get("Content-Type") == "application/tlsrpt+gzip" {
			if !strings.HasPrefix(p.FileName(), "gw.clinic.test!partner.test!") || !strings.HasSuffix(p.FileName(), ".json.gz") {
				t.Errorf("file name %q", p.FileName())
			}
			b, _ := io.ReadAll(base64.NewDecoder(base64.StdEncoding, p))
			return b
		}
	}
}

func TestSendDaily(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	posts := 0
	hs := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		wantReport(t, b)
		mu.Lock()
		posts++
		mu.Unlock()
	}))
	t.Cleanup(hs.Close)
	srv := dnstest.Start(t)
	srv.Add(t, `_smtp._tls.partner.test. 60 IN TXT "v=TLSRPTv1; rua=`+hs.URL+`/r"`)
	res, _ := dnsclient.New(dnsclient.Config{Servers: []string{srv.Addr}})
	s, _ := tlsrpt.NewStore(tlsrpt.StoreConfig{})
	for _, r := range results() {
		s.Record(r)
	}
	n, err := tlsrpt.SendDaily(context.Background(), tlsrpt.DailyRequest{Store: s, Resolver: res, Day: day,
		Organization: "Example Clinic", Contact: "postmaster@clinic.test", Submitter: "gw.clinic.test",
		From: "tlsrpt@clinic.test", HTTP: hs.Client()})
	mu.Lock()
	defer mu.Unlock()
	// other.test publishes no record and gets nothing.
	if err != nil || n != 1 || posts != 1 {
		t.Errorf("sent %d (%d posts): %v", n, posts, err)
	}
}
