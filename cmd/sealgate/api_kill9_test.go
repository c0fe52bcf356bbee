package main

import (
	"bytes"
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/internal/testenv"
)

// TestAPIAcceptedSurvivesKill9: the built gateway answers 202 to five
// messages sent over its HTTP API while the destination refuses them for
// now (451), and is killed with SIGKILL right after the last answer.
// Started again, it delivers every one of them, and GET
// /v1/messages/{id} of each says delivered: a 202 meant the message was on
// disk, not in memory.
func TestAPIAcceptedSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the built binary; skipped with -short")
	}
	t.Parallel()
	bin := buildBinary(t)
	var refuse atomic.Bool
	refuse.Store(true)
	sink := smtpsink.Start(t, smtpsink.Options{DataReply: func(*smtpsink.Message) *smtp.SMTPError {
		if refuse.Load() {
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
		}
		return nil
	}})
	ca := smtpsink.NewTestCA(t)
	dir := t.TempDir()
	writePair(t, dir, ca.Leaf(t, "gw.example.org", "127.0.0.1"))
	cfg := crashConfig(t, dir, "127.0.0.1:0", sink.Addr)
	f, _ := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	fmt.Fprintf(f, "tls: {cert: %[1]s/cert.pem, key: %[1]s/key.pem}\napi: {listen: \"127.0.0.1:0\"}\n", dir)
	f.Close()
	a := processAPIClient(t, cfg, ca, "ehr")

	proc, lines := serveLines(t, bin, cfg)
	a.url = apiURLFrom(t, lines, "sealgate: HTTP API on https://", cfg)
	const n = 5
	ids := make([]string, n)
	for i := range ids {
		msg := map[string]any{"from": "lab@clinic.example.org", "to": []string{"dr@example.net"},
			"subject": fmt.Sprintf("note %d", i), "text": "The clinic opens at 8."}
		status, body, _ := a.post(t, msg)
		ids[i], _ = body["id"].(string)
		if status != 202 || ids[i] == "" {
			t.Fatalf("message %d: %d %v", i, status, body)
		}
	}
	proc.Process.Kill()
	proc.Wait()
	if sink.Count() != 0 {
		t.Fatalf("the sink took %d messages while refusing", sink.Count())
	}

	refuse.Store(false)
	_, lines = serveLines(t, bin, cfg)
	a.url = apiURLFrom(t, lines, "sealgate: HTTP API on https://", cfg)
	if _, err := sink.Wait(n, 60*time.Second); err != nil {
		log, _ := os.ReadFile(filepath.Clean(cfg + ".log"))
		t.Fatalf("after the restart: %v\n%s", err, log)
	}
	for _, id := range ids {
		testenv.WaitForState(t, 30*time.Second, "message "+id+" delivered in its status", func() (bool, string) {
			code, st, _ := a.do(t, "GET", "/v1/messages/"+id, "", a.key, nil)
			rs, _ := st["recipients"].([]any)
			return code == 200 && len(rs) == 1 && rs[0].(map[string]any)["status"] == "delivered", fmt.Sprint(code, " ", st)
		})
	}
	got := map[string]bool{}
	for _, m := range sink.Messages() {
		msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
		if err != nil {
			t.Fatal(err)
		}
		got[strings.Join(m.Rcpts, ",")+" "+msg.Header.Get("Subject")] = true
	}
	for i := range n {
		if !got[fmt.Sprintf("dr@example.net note %d", i)] {
			t.Errorf("message %d not delivered; sink has %v", i, got)
		}
	}
}
