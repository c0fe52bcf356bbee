package tlsrpt

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sealgate/sealgate/mailtext"
)

// TXTResolver looks up TXT records (dnsclient.Resolver, net.Resolver).
type TXTResolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// ErrNoRecord: the domain publishes no usable _smtp._tls record.
var ErrNoRecord = errors.New("tlsrpt: no valid _smtp._tls record")

// Lookup finds where domain wants its reports (RFC 8460 §3): the rua URIs
// of the one TXT record at _smtp._tls.<domain> that starts with
// "v=TLSRPTv1". Only mailto: and https: URIs are returned.
func Lookup(ctx context.Context, res TXTResolver, domain string) ([]*url.URL, error) {
	txts, err := res.LookupTXT(ctx, "_smtp._tls."+strings.TrimSuffix(domain, "."))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoRecord, err)
	}
	var recs []string
	for _, t := range txts {
		if v, _, _ := strings.Cut(t, ";"); strings.TrimSpace(v) == "v=TLSRPTv1" {
			recs = append(recs, t)
		}
	}
	if len(recs) != 1 {
		return nil, ErrNoRecord
	}
	return parseRUA(recs[0])
}

// parseRUA reads the rua field of a TLSRPT record.
func parseRUA(rec string) ([]*url.URL, error) {
	for _, f := range strings.Split(rec, ";")[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		if strings.TrimSpace(k) != "rua" {
			continue
		}
		var out []*url.URL
		for _, u := range strings.Split(v, ",") {
			pu, err := url.Parse(strings.TrimSpace(u))
			if err == nil && (pu.Scheme == "mailto" && pu.Opaque != "" || pu.Scheme == "https" && pu.Host != "") {
				out = append(out, pu)
			}
		}
		if len(out) == 0 {
			return nil, ErrNoRecord
		}
		return out, nil
	}
	return nil, ErrNoRecord
}

// Mailer hands a complete message to the gateway's own queue, which signs
// (DKIM, RFC 8460 §3 requires it for mailto reports) and delivers it.
type Mailer interface {
	SendMail(ctx context.Context, from string, to []string, msg []byte) error
}

// SendRequest is one report to send to its rua URIs.
type SendRequest struct {
	Report *Report
	// Domain is the policy domain; Submitter our host name; From the
	// envelope and header sender of mailto reports.
	Domain, Submitter, From string
	RUA                     []*url.URL
	// Mailer sends mailto reports; HTTP posts https reports (nil:
	// a client with a 60s timeout and system roots).
	Mailer Mailer
	HTTP   *http.Client
}

// Send delivers the report to every rua URI (RFC 8460 §5) and returns the
// errors of those that failed, joined.
func Send(ctx context.Context, req SendRequest) error {
	body, err := gzipJSON(req.Report)
	if err != nil {
		return err
	}
	var errs []error
	for _, u := range req.RUA {
		switch u.Scheme {
		case "https":
			err = post(ctx, req.HTTP, u, body)
		case "mailto":
			err = sendMail(ctx, req, u, body)
		default:
			err = fmt.Errorf("tlsrpt: unsupported rua scheme %q", u.Scheme)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func gzipJSON(r *Report) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(r); err != nil {
		return nil, fmt.Errorf("tlsrpt: encode report: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("tlsrpt: compress report: %w", err)
	}
	return buf.Bytes(), nil
}

// post sends the report over HTTPS (RFC 8460 §5.4).
func post(ctx context.Context, hc *http.Client, u *url.URL, body []byte) error {
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("tlsrpt: %w", err)
	}
	req.Header.Set("Content-Type", "application/tlsrpt+gzip")
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("tlsrpt: post report to %s: %w", u.Host, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("tlsrpt: post report to %s: HTTP status %d", u.Host, resp.StatusCode)
	}
	return nil
}

// sendMail sends the report as RFC 8460 §5.3 describes: a multipart/report of
// report-type tlsrpt with the gzipped JSON attached.
func sendMail(ctx context.Context, req SendRequest, u *url.URL, body []byte) error {
	if req.Mailer == nil {
		return errors.New("tlsrpt: no mailer for a mailto report")
	}
	to := strings.SplitN(u.Opaque, "?", 2)[0]
	if to, err := url.PathUnescape(to); err == nil && to != "" {
		msg, err := Message(req, to, body)
		if err != nil {
			return fmt.Errorf("tlsrpt: report mail: %w", err)
		}
		return req.Mailer.SendMail(ctx, req.From, []string{to}, msg)
	}
	return errors.New("tlsrpt: bad mailto rua")
}

// Message is the report e-mail for to: a multipart/report of report-type
// tlsrpt (RFC 8460 §5.3) with the gzipped JSON attached under the file
// name of §5.1.
func Message(req SendRequest, to string, gz []byte) ([]byte, error) {
	r := req.Report
	name := fmt.Sprintf("%s!%s!%d!%d!%s.json.gz", req.Submitter, req.Domain,
		r.DateRange.Start.Unix(), r.DateRange.End.Unix(), randomHex(4))
	return mailtext.Compose(mailtext.Message{
		From: mailtext.Address("", req.From), To: mailtext.Address("", to),
		Subject: "Report Domain: " + req.Domain + " Submitter: " + req.Submitter + " Report-ID: <" + r.ReportID + ">",
		Date:    time.Now().UTC(), Host: req.Submitter,
		Fields: []mailtext.Field{{Name: "TLS-Report-Domain", Value: req.Domain},
			{Name: "TLS-Report-Submitter", Value: req.Submitter}},
		Body: mailtext.Part{Type: `multipart/report; report-type="tlsrpt"`, Parts: []mailtext.Part{
			{Type: "text/plain; charset=us-ascii",
				Body: []byte("This is an aggregate TLS report from " + req.Submitter + " (RFC 8460).\r\n")},
			{Type: "application/tlsrpt+gzip", Encoding: mailtext.Base64, Body: gz,
				Fields: []mailtext.Field{{Name: "Content-Disposition", Value: `attachment; filename="` + name + `"`}}},
		}},
	})
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// DailyRequest sends yesterday's (or any day's) reports.
type DailyRequest struct {
	Store    *Store
	Resolver TXTResolver
	// Day is any time in the UTC day to report.
	Day                                    time.Time
	Organization, Contact, Submitter, From string
	Mailer                                 Mailer
	HTTP                                   *http.Client
}

// SendDaily builds and sends the report of every policy domain with
// results on req.Day that publishes a _smtp._tls record. Domains without
// a record are skipped. The integrator runs it once a day, shortly after
// 00:00 UTC, for the day before. With a shared store the report covers
// every node's results and goes out from the one node that claims it;
// Submitter names the node.
func SendDaily(ctx context.Context, req DailyRequest) (sent int, err error) {
	if req.Store.cfg.Shared != nil {
		return sendShared(ctx, req)
	}
	var errs []error
	for _, dom := range req.Store.Domains(req.Day) {
		rua, lerr := Lookup(ctx, req.Resolver, dom)
		if lerr != nil {
			continue
		}
		rep, rerr := req.Store.Report(ReportRequest{Domain: dom, Day: req.Day,
			Organization: req.Organization, Contact: req.Contact, Submitter: req.Submitter})
		if rerr != nil {
			continue
		}
		serr := Send(ctx, SendRequest{Report: rep, Domain: dom, Submitter: req.Submitter, From: req.From,
			RUA: rua, Mailer: req.Mailer, HTTP: req.HTTP})
		if serr != nil {
			errs = append(errs, fmt.Errorf("report %d: %w", sent+len(errs)+1, serr))
			continue
		}
		sent++
	}
	return sent, errors.Join(errs...)
}
