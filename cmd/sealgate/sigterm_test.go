package main

import (
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/internal/testenv"
)

// TestSIGTERMKeepsQueueAndExitsCleanly: on SIGTERM the gateway exits 0
// and leaves undelivered mail in the spool; the next start delivers it.
func TestSIGTERMKeepsQueueAndExitsCleanly(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the built binary; skipped with -short")
	}
	t.Parallel()
	bin := buildBinary(t)
	var refuse atomic.Bool
	var refused atomic.Int32
	refuse.Store(true)
	sink := smtpsink.Start(t, smtpsink.Options{RcptReply: func(string) *smtp.SMTPError {
		if refuse.Load() {
			refused.Add(1)
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "later"}
		}
		return nil
	}})
	dir := t.TempDir()
	cfg := crashConfig(t, dir, "127.0.0.1:0", sink.Addr)
	proc, listen := startProcess(t, bin, cfg)
	c, err := smtp.Dial(listen)
	if err != nil {
		t.Fatal(err)
	}
	msg := "From: lab@clinic.example.org\r\nTo: dr@example.net\r\nSubject: r\r\nMessage-ID: <term-1@clinic.example.org>\r\n\r\nbody\r\n"
	if err := c.SendMail("lab@clinic.example.org", []string{"dr@example.net"}, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	c.Close()
	testenv.WaitFor(t, 30*time.Second, "one refused attempt", func() bool { return refused.Load() >= 1 })
	proc.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- proc.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(20 * time.Second):
		proc.Process.Kill()
		t.Fatal("gateway did not stop on SIGTERM")
	}
	spooled, _ := filepath.Glob(filepath.Join(dir, "data", "spool", "*.seg"))
	if len(spooled) == 0 || sink.Count() != 0 {
		t.Fatalf("after SIGTERM: %d spool segments, %d delivered; want some and 0", len(spooled), sink.Count())
	}
	refuse.Store(false)
	proc, _ = startProcess(t, bin, cfg)
	defer func() { proc.Process.Signal(os.Interrupt); proc.Wait() }()
	if _, err := sink.Wait(1, 15*time.Second); err != nil {
		t.Fatalf("not delivered after restart: %v", err)
	}
}
