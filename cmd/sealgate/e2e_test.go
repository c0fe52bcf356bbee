package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-message"
	"github.com/emersion/go-smtp"

	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/internal/testenv"
)

func TestSubmissionDeliveredOverVerifiedTLS(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	err := submit(t, e.smtpAt, e.ca, "news@news.example.org", []string{"pat@example.net"},
		newsMessage("m1@news.example.org", "pat@example.net", "Clinic hours change next week."))
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	msgs, err := e.sink.Wait(1, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	m := msgs[0]
	if !m.TLS || m.From != "news@news.example.org" || len(m.Rcpts) != 1 || m.Rcpts[0] != "pat@example.net" {
		t.Fatalf("sink got from=%q rcpts=%v tls=%v", m.From, m.Rcpts, m.TLS)
	}
	if !bytes.Contains(m.Data, []byte("by gw.example.org (sealgate) with ESMTPSA")) {
		t.Error("no Received header from sealgate")
	}
	// The queue counts the delivery and removes the message just after the
	// sink has it, and one scrape is no atomic snapshot (the registry
	// gathers its collectors concurrently), so poll until one scrape shows
	// every value.
	wants := []string{`sealgate_messages_accepted_total{listener="submission"} 1`,
		`sealgate_deliveries_total{result="delivered",tls="TLS1.3"} 1`, "sealgate_queue_messages 0"}
	metrics := waitMetricLines(t, e, wants...)
	for _, want := range wants {
		if !hasMetricLine(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	audit, _ := os.ReadFile(filepath.Join(e.dir, "audit.log"))
	if !bytes.Contains(audit, []byte(`"event":"accepted"`)) || !bytes.Contains(audit, []byte(`"result":"delivered"`)) {
		t.Errorf("audit log:\n%s", audit)
	}
	if bytes.Contains(audit, []byte("Flu clinic")) || bytes.Contains(audit, []byte("Clinic hours")) {
		t.Error("audit log holds subject or body")
	}
}

func TestTemporaryFailureRetriedThenDelivered(t *testing.T) {
	t.Parallel()
	var rcpts atomic.Int32
	e := newEnv(t, envOpts{sink: smtpsink.Options{RcptReply: func(string) *smtp.SMTPError {
		if rcpts.Add(1) == 1 {
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 2, 0}, Message: "try later"}
		}
		return nil
	}}})
	if err := submit(t, e.smtpAt, e.ca, "news@news.example.org", []string{"pat@example.net"},
		newsMessage("m2@news.example.org", "pat@example.net", "hello")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sink.Wait(1, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if n := rcpts.Load(); n != 2 {
		t.Fatalf("%d RCPT attempts, want 2", n)
	}
}

func TestPermanentFailureBecomesDSN(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{sink: smtpsink.Options{RcptReply: func(r string) *smtp.SMTPError {
		if r == "gone@example.net" {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		}
		return nil
	}}})
	if err := submit(t, e.smtpAt, e.ca, "news@news.example.org", []string{"gone@example.net"},
		newsMessage("m3@news.example.org", "gone@example.net", "secret body text")); err != nil {
		t.Fatal(err)
	}
	msgs, err := e.sink.Wait(1, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	dsn := msgs[0]
	if dsn.From != "" || dsn.Rcpts[0] != "news@news.example.org" {
		t.Fatalf("DSN envelope from=%q to=%v", dsn.From, dsn.Rcpts)
	}
	ent, err := message.Read(bytes.NewReader(dsn.Data))
	if err != nil {
		t.Fatal(err)
	}
	if mt, p, _ := ent.Header.ContentType(); mt != "multipart/report" || p["report-type"] != "delivery-status" {
		t.Fatalf("DSN type %s %v", mt, p)
	}
	mr := ent.MultipartReader()
	var types []string
	for {
		part, err := mr.NextPart()
		if err != nil {
			break
		}
		mt, _, _ := part.Header.ContentType()
		types = append(types, mt)
	}
	if strings.Join(types, ",") != "text/plain,message/delivery-status,text/rfc822-headers" {
		t.Errorf("DSN parts %v", types)
	}
	if bytes.Contains(dsn.Data, []byte("secret body text")) {
		t.Error("DSN carries the original body")
	}
}

func TestSpoolHoldsNoPlaintext(t *testing.T) {
	t.Parallel()
	// The sink refuses everything temporarily, so the message stays queued.
	e := newEnv(t, envOpts{retry: "[1h]", sink: smtpsink.Options{RcptReply: func(string) *smtp.SMTPError {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "later"}
	}}})
	const marker = "DIAGNOSIS-MARKER-9F3A"
	if err := submit(t, e.smtpAt, e.ca, "news@news.example.org", []string{"pat@example.net"},
		newsMessage("m4@news.example.org", "pat@example.net", marker)); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 30*time.Second, "the message's files in the spool", func() bool {
		files := 0
		filepath.Walk(e.cfg.SpoolDir(), func(p string, fi os.FileInfo, err error) error {
			if err != nil || fi.IsDir() {
				return nil
			}
			files++
			b, _ := os.ReadFile(p)
			for _, s := range []string{marker, "pat@example.net", "Flu clinic"} {
				if bytes.Contains(b, []byte(s)) {
					t.Errorf("spool file %s contains %q in the clear", filepath.Base(p), s)
				}
			}
			return nil
		})
		return files > 0
	})
}
