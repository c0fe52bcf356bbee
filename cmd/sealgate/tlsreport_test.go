package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sealgate/sealgate/config"
	"github.com/sealgate/sealgate/delivery"
)

func TestTLSReporterSendsEachDayOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	v, err := delivery.NewVerified(delivery.VerifiedConfig{DNSServers: []string{"127.0.0.1:1"},
		MTASTSDir: filepath.Join(dir, "mta-sts"), Reports: true, ReportDir: filepath.Join(dir, "tlsrpt")})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	cfg := &config.Config{Hostname: "gw.example.org", DataDir: dir}
	r := &tlsReporter{cfg: cfg, v: v, log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		stamp: filepath.Join(dir, "tlsrpt", "last-sent")}
	now := time.Date(2026, 11, 27, 0, 30, 0, 0, time.UTC)
	r.maybeSend(context.Background(), now)
	got, err := os.ReadFile(r.stamp)
	if err != nil || string(got) != "2026-11-26" {
		t.Fatalf("stamp %q %v", got, err)
	}
	os.WriteFile(r.stamp, []byte("2026-11-26"), 0o600)
	st, _ := os.Stat(r.stamp)
	r.maybeSend(context.Background(), now.Add(time.Hour))
	st2, _ := os.Stat(r.stamp)
	if !st2.ModTime().Equal(st.ModTime()) {
		t.Error("the same day was handled twice")
	}
}
