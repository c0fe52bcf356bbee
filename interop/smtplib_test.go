package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// scriptCount is how many messages the smtplib script sends.
const scriptCount = 4

// smtplibPath sends messages with Python's smtplib (STARTTLS, AUTH, one
// with a UTF-8 recipient and SMTPUTF8) and checks each arrives unchanged.
func (w *world) smtplibPath(t *testing.T, r *results) {
	var msgs []outMsg
	type jobMsg struct {
		From string `json:"from"`
		To   string `json:"to"`
		ID   string `json:"id"`
		UTF8 bool   `json:"utf8"`
		Data string `json:"data"`
	}
	var jm []jobMsg
	for i := range scriptCount {
		m := outMsg{from: "reports@clinic.test", id: fmt.Sprintf("script-%d@clinic.test", i)}
		switch i % 3 {
		case 0:
			m.to = "bob@dest.test"
		case 1:
			m.to, m.utf8 = "renée@dest.test", true
		case 2:
			m.to = "dora@exim.test"
		}
		m.data = []byte(fmt.Sprintf("From: Reports <reports@clinic.test>\r\nTo: <%s>\r\nSubject: Nightly backup %d\r\n"+
			"Message-ID: <%s>\r\nDate: Sun, 06 Dec 2026 02:00:00 +0000\r\nMIME-Version: 1.0\r\n"+
			"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"+
			"Backup %d finished: 12 GB in 41 minutes.\r\n.\r\nNächster Lauf um 02:00.\r\n", m.to, i, m.id, i))
		msgs = append(msgs, m)
		jm = append(jm, jobMsg{From: m.from, To: m.to, ID: m.id, UTF8: m.utf8, Data: string(m.data)})
	}
	job := map[string]any{"host": hostOf(w.gw.smtp), "port": w.gw.smtp[strings.LastIndexByte(w.gw.smtp, ':')+1:],
		"user": "app", "pass": appPass, "ca": filepath.Join(w.dir, "sealgate/ca.pem"),
		"servername": "gw.clinic.test", "messages": jm}
	jobPath := filepath.Join(w.dir, "smtplib-job.json")
	b, _ := json.Marshal(job)
	write(t, jobPath, string(b))
	script, _ := filepath.Abs("testdata/send_smtplib.py")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, w.tl.python, script, jobPath)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("smtplib: %v\n%s%s", err, out, stderr.String())
	}
	var res []struct {
		ID      string   `json:"id"`
		Refused []string `json:"refused"`
		Error   string   `json:"error"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("smtplib output: %v\n%s", err, out)
	}
	for _, x := range res {
		if x.Error != "" || len(x.Refused) > 0 {
			t.Errorf("smtplib %s: %s %v", x.ID, x.Error, x.Refused)
			continue
		}
		r.scriptSent++
	}
	if !waitFor(60*time.Second, func() bool {
		n := 0
		for _, m := range append(w.mx.inbox(t), w.ex.inbox(t)...) {
			if strings.HasPrefix(m.header("Message-ID"), "<script-") {
				n++
			}
		}
		return n >= scriptCount
	}) {
		t.Errorf("not every smtplib message arrived in 60 s\nsealgate log:\n%s", tail(w.gw.log(), 30))
	}
	dest, ex := byID(w.mx.inbox(t)), byID(w.ex.inbox(t))
	for _, m := range msgs {
		got := dest[m.id]
		if strings.HasSuffix(m.to, "@exim.test") {
			got = ex[m.id]
		}
		if len(got) == 0 {
			t.Errorf("%s: not delivered", m.id)
			continue
		}
		r.scriptArrived++
		if !w.provenTLS(got[0], m.id, w.ex.received()) {
			t.Errorf("%s: no TLS in the receiver's log or trace header", m.id)
		}
		if sameContent(m.data, got[0]) {
			r.scriptSame++
		} else {
			t.Errorf("%s: content changed on the way:\n%s", m.id, got[0].data)
		}
	}
}
