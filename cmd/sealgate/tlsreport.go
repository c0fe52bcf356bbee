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
	"github.com/sealgate/sealgate/queue"
	"github.com/sealgate/sealgate/safeio"
	"github.com/sealgate/sealgate/tlsrpt"
)

// tlsReporter sends yesterday's SMTP TLS reports (RFC 8460) once a day,
// shortly after midnight UTC. The last day sent is kept in the data folder
// so a restart does not send it twice. Reports by mail enter the spool like
// any mail sealgate writes: a crash or a temporary failure of the
// receiving server delays a report, it does not lose it.
type tlsReporter struct {
	cfg   *config.Config
	v     *delivery.Verified
	q     submitter
	log   *slog.Logger
	stamp string
	loop  *periodic.Loop
}

func startTLSReporter(cfg *config.Config, v *delivery.Verified, q submitter, log *slog.Logger) *tlsReporter {
	r := &tlsReporter{cfg: cfg, v: v, q: q, log: log, stamp: filepath.Join(cfg.DataDir, "tlsrpt", "last-sent")}
	r.loop = periodic.Start(context.Background(), time.Hour, true,
		func(ctx context.Context, _ time.Time) { r.maybeSend(ctx, time.Now().UTC()) })
	return r
}

// maybeSend sends the report of the day before now unless it went out.
func (r *tlsReporter) maybeSend(ctx context.Context, now time.Time) {
	day := now.AddDate(0, 0, -1).Format(time.DateOnly)
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
	safeio.WriteFile(r.stamp, []byte(day), 0o600)
}

func (r *tlsReporter) close() { r.loop.Stop() }

// queueMailer hands TLS reports by mail to the queue, which protects, signs
// (RFC 8460 §3 asks for DKIM), delivers and retries them.
type queueMailer struct{ q submitter }

// SendMail implements tlsrpt.Mailer.
func (m queueMailer) SendMail(ctx context.Context, from string, to []string, msg []byte) error {
	_, err := m.q.Submit(ctx, queue.Generated{Origin: queue.OriginTLSReport, From: from, To: to, Body: msg, TLS: mail.TLSMay})
	return err
}
