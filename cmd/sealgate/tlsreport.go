package main

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/sealgate/sealgate/config"
	"github.com/sealgate/sealgate/delivery"
	"github.com/sealgate/sealgate/internal/periodic"
	"github.com/sealgate/sealgate/mail"
	"github.com/sealgate/sealgate/safeio"
	"github.com/sealgate/sealgate/tlsrpt"
)

// tlsReporter sends yesterday's SMTP TLS reports (RFC 8460) once a day,
// shortly after midnight UTC. The last day sent is kept in the data folder
// so a restart does not send it twice. Reports by mail enter the spool like
// any mail sealgate writes: a crash or a temporary failure of the
// receiving server delays a report, it does not lose it.
//
// With a shared store (PostgreSQL) every node adds its results to the
// store every sharedFlush, and after sharedGrace past midnight the node
// that claims a domain's report sends it for all nodes; a report that
// fails is released and retried on the next run that day.
type tlsReporter struct {
	cfg   *config.Config
	v     *delivery.Verified
	q     mail.Submitter
	log   *slog.Logger
	stamp string
	loop  *periodic.Loop
}

func startTLSReporter(cfg *config.Config, v *delivery.Verified, q mail.Submitter, log *slog.Logger) *tlsReporter {
	r := &tlsReporter{cfg: cfg, v: v, q: q, log: log, stamp: filepath.Join(cfg.DataDir, "tlsrpt", "last-sent")}
	every := time.Hour
	if cfg.SharedStore() {
		every = sharedFlush
	}
	r.loop = periodic.Start(context.Background(), every, true,
		func(ctx context.Context, _ time.Time) { r.maybeSend(ctx, time.Now().UTC()) })
	return r
}

// sharedFlush is how often a node adds its TLS results to the shared
// store; sharedGrace how long after midnight (UTC) the nodes wait before
// reporting the day before, so that every running node has added its last
// results of that day.
const (
	sharedFlush = 10 * time.Minute
	sharedGrace = 3 * sharedFlush
)

// maybeSend sends the report of the day before now unless it went out.
func (r *tlsReporter) maybeSend(ctx context.Context, now time.Time) {
	day := now.AddDate(0, 0, -1).Format(time.DateOnly)
	shared := r.cfg.SharedStore()
	if shared {
		if err := r.v.Reports.Flush(ctx); err != nil {
			r.log.Warn("TLS results not added to the shared store; kept for the next try", slog.String("error", err.Error()))
		}
		if now.Sub(now.Truncate(24*time.Hour)) < sharedGrace {
			return
		}
	}
	if last, _ := os.ReadFile(r.stamp); string(last) == day {
		return
	}
	rep := r.cfg.Delivery.TLS.Report
	sent, err := tlsrpt.SendDaily(ctx, tlsrpt.DailyRequest{
		Store: r.v.Reports, Resolver: r.v.Resolver, Day: now.AddDate(0, 0, -1),
		Organization: rep.Organization, Contact: rep.Contact, Submitter: r.cfg.Hostname,
		From:   "noreply-tlsrpt@" + r.cfg.Hostname,
		Mailer: queueMailer{q: r.q},
		HTTP:   &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12}}},
	})
	if err != nil {
		r.log.Warn("TLS reports", slog.String("day", day), slog.Int("sent", sent), slog.String("error", err.Error()))
	} else {
		r.log.Info("TLS reports sent", slog.String("day", day), slog.Int("reports", sent))
	}
	r.v.Reports.Prune(now)
	if err != nil && shared {
		return // released claims: the next run of the day tries again
	}
	safeio.WriteFile(r.stamp, []byte(day), 0o600)
}

// close stops the reporter and adds the results not yet in the shared
// store, if there is one.
func (r *tlsReporter) close() {
	r.loop.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.v.Reports.Flush(ctx); err != nil {
		r.log.Warn("TLS results not added to the shared store", slog.String("error", err.Error()))
	}
}

// queueMailer hands TLS reports by mail to the queue, which protects, signs
// (RFC 8460 §3 asks for DKIM), delivers and retries them.
type queueMailer struct{ q mail.Submitter }

// SendMail implements tlsrpt.Mailer.
func (m queueMailer) SendMail(ctx context.Context, from string, to []string, msg []byte) error {
	_, err := m.q.Submit(ctx, mail.Generated{Origin: mail.OriginTLSReport, From: from, To: to, Body: msg, TLS: mail.TLSMay})
	return err
}
