package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/emersion/go-message/charset"
	gomail "github.com/emersion/go-message/mail"
)

// appCount is how many messages the application sends with Nodemailer.
const appCount = 10

// results are the counts the suite measures.
type results struct {
	clinicSent, clinicArrived, clinicSame, clinicTLS int
	notices, noticesRelay, bounces, reused           int
	mxTLSSessions, eximTLSArrivals, softDeferred     int
	authFailLogged, relayedNotices, failureNotices   int
	deliveredNotices, certRelayed                    int
	eximSent, eximArrived, eximSame, eximTLSAuth     int
	appSent, appArrived, appTLS, attachmentsSame     int
	scriptSent, scriptArrived, scriptSame            int
	dkimChecked, opendkimPass, dkimpyPass            int
	duplicates                                       int
}

func (r *results) String() string {
	return fmt.Sprintf("clinic postfix %d sent, %d arrived (%d byte-identical, %d over TLS at the receiver); "+
		"notices at the clinic %d: 'delivered' from the receiving MTA %d, unexpected from a relay %d, sealgate 'relayed' (next hop without DSN) %d, sealgate 'failed' %d; postfix bounces %d; reused-connection deliveries %d; "+
		"TLS sessions at the Postfix MX %d, TLS arrivals at Exim %d; soft_bounce deferrals %d; "+
		"wrong SASL password logged %d; relayed under a client certificate %d; "+
		"exim relaying %d sent, %d arrived (%d byte-identical, %d with verified TLS and AUTH in Exim's log); "+
		"nodemailer %d sent, %d arrived (%d over TLS, %d attachments identical); "+
		"smtplib %d sent, %d arrived (%d byte-identical); "+
		"dkim %d checked: opendkim-testmsg %d pass, dkimpy %d pass; duplicates %d",
		r.clinicSent, r.clinicArrived, r.clinicSame, r.clinicTLS, r.notices, r.deliveredNotices, r.noticesRelay, r.relayedNotices, r.failureNotices, r.bounces, r.reused,
		r.mxTLSSessions, r.eximTLSArrivals, r.softDeferred, r.authFailLogged, r.certRelayed,
		r.eximSent, r.eximArrived, r.eximSame, r.eximTLSAuth, r.appSent, r.appArrived, r.appTLS, r.attachmentsSame, r.scriptSent, r.scriptArrived, r.scriptSame, r.dkimChecked, r.opendkimPass, r.dkimpyPass, r.duplicates)
}

// attachment is a file the application attaches.
type attachment struct {
	Filename    string `json:"filename"`
	Path        string `json:"path"`
	ContentType string `json:"contentType"`
	data        []byte
}

type appMsg struct {
	From        string       `json:"from"`
	To          string       `json:"to"`
	Subject     string       `json:"subject"`
	MessageID   string       `json:"messageId"`
	Text        string       `json:"text"`
	HTML        string       `json:"html"`
	Attachments []attachment `json:"attachments"`
}

type appResult struct {
	MessageID string   `json:"messageId"`
	Response  string   `json:"response"`
	Accepted  []string `json:"accepted"`
	Error     string   `json:"error"`
}

// appAttachments writes the files the application attaches: UTF-8 CSV,
// text with CRLF line ends, and a calendar invitation. (A file sealgate
// cannot read, such as arbitrary binary data, would be treated as possible
// PHI and go by the pickup portal: fail closed.)
func (w *world) appAttachments(t *testing.T) []attachment {
	dir := w.sub(t, "attachments")
	files := []attachment{
		{Filename: "rota.csv", ContentType: "text/csv", data: []byte("day,room,staff\nMonday,2,Café team\nTuesday,3,Front desk\n")},
		{Filename: "notes.txt", ContentType: "text/plain", data: []byte("Fire drill on Thursday at 10:30.\r\nPlease leave by the east stairs.\r\n")},
		{Filename: "drill.ics", ContentType: "text/calendar", data: []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//clinic//app//EN\r\n" +
			"BEGIN:VEVENT\r\nUID:drill-1@clinic.test\r\nDTSTAMP:20261206T100000Z\r\nDTSTART:20261210T103000Z\r\n" +
			"SUMMARY:Fire drill\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")},
	}
	for i := range files {
		files[i].Path = filepath.Join(dir, files[i].Filename)
		if err := os.WriteFile(files[i].Path, files[i].data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return files
}

func (w *world) nodemailerPath(t *testing.T, r *results) {
	files := w.appAttachments(t)
	var msgs []appMsg
	for i := range appCount {
		to := "bob@dest.test"
		if i%2 == 1 {
			to = "dora@exim.test"
		}
		msgs = append(msgs, appMsg{From: "Clinic App <app@clinic.test>", To: to,
			Subject: fmt.Sprintf("Facilities notice %d", i), MessageID: fmt.Sprintf("<app-%d@clinic.test>", i),
			Text:        fmt.Sprintf("Notice %d: the car park is closed on Saturday.", i),
			HTML:        fmt.Sprintf("<p>Notice %d: the <b>car park</b> is closed on Saturday.</p>", i),
			Attachments: files})
	}
	job := map[string]any{"nodemailer": w.tl.nodemailer, "host": hostOf(w.gw.smtp),
		"port": w.gw.smtp[strings.LastIndexByte(w.gw.smtp, ':')+1:], "user": "app", "pass": appPass,
		"ca": filepath.Join(w.dir, "sealgate/ca.pem"), "servername": "gw.clinic.test", "messages": msgs}
	jobPath := filepath.Join(w.dir, "nodemailer-job.json")
	b, _ := json.Marshal(job)
	write(t, jobPath, string(b))
	script, _ := filepath.Abs("testdata/send.js")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, w.tl.node, script, jobPath).Output()
	if err != nil {
		t.Fatalf("nodemailer: %v\n%s", err, out)
	}
	var res []appResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("nodemailer output: %v\n%s", err, out)
	}
	for _, x := range res {
		if x.Error != "" || !strings.HasPrefix(x.Response, "250") {
			t.Errorf("nodemailer %s: %s%s", x.MessageID, x.Error, x.Response)
			continue
		}
		r.appSent++
	}
	ok := waitFor(60*time.Second, func() bool {
		n := 0
		for _, m := range append(w.mx.inbox(t), w.ex.inbox(t)...) {
			if strings.HasPrefix(m.header("Message-ID"), "<app-") {
				n++
			}
		}
		return n >= appCount
	})
	if !ok {
		t.Errorf("not every application message arrived in 60 s\nsealgate log:\n%s", tail(w.gw.log(), 30))
	}
	dest, ex := byID(w.mx.inbox(t)), byID(w.ex.inbox(t))
	eximTLS := w.ex.received()
	for _, m := range msgs {
		id := strings.Trim(m.MessageID, "<>")
		got := dest[id]
		if m.To == "dora@exim.test" {
			got = ex[id]
		}
		if len(got) == 0 {
			t.Errorf("%s: not delivered", id)
			continue
		}
		r.appArrived++
		if w.provenTLS(got[0], id, eximTLS) {
			r.appTLS++
		} else {
			t.Errorf("%s: no TLS in the receiver's log or trace header", id)
		}
		r.attachmentsSame += sameAttachments(t, id, got[0], files)
	}
}

// sameAttachments counts the attachments of m that are byte-identical to
// the files sent; a missing or changed one fails the test.
func sameAttachments(t *testing.T, id string, m mail, files []attachment) int {
	mr, err := gomail.CreateReader(bytes.NewReader(m.crlf()))
	if err != nil {
		t.Errorf("%s: %v", id, err)
		return 0
	}
	got := map[string][]byte{}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Errorf("%s: %v", id, err)
			return 0
		}
		if h, ok := p.Header.(*gomail.AttachmentHeader); ok {
			name, _ := h.Filename()
			got[name], _ = io.ReadAll(p.Body)
		}
	}
	n := 0
	for _, f := range files {
		if bytes.Equal(got[f.Filename], f.data) {
			n++
		} else {
			t.Errorf("%s: attachment %s differs (%d bytes, want %d)", id, f.Filename, len(got[f.Filename]), len(f.data))
		}
	}
	return n
}

// checkDKIM verifies every message sealgate signed (From clinic.test) at
// both receivers with both verifiers.
func (w *world) checkDKIM(t *testing.T, r *results) {
	for _, m := range append(w.mx.inbox(t), w.ex.inbox(t)...) {
		if !strings.Contains(m.header("From"), "@clinic.test>") {
			continue
		}
		r.dkimChecked++
		if !strings.Contains(m.header("DKIM-Signature"), "d=clinic.test") {
			t.Errorf("%s: not signed", m.header("Message-ID"))
			continue
		}
		if ok, out := verifyDKIM(w.tl, w.resolv, []string{w.tl.opendkim}, m.crlf()); ok {
			r.opendkimPass++
		} else {
			t.Errorf("%s: opendkim-testmsg: %s", m.header("Message-ID"), out)
		}
		if ok, out := verifyDKIM(w.tl, w.resolv, []string{w.tl.dkimpy}, m.crlf()); ok {
			r.dkimpyPass++
		} else {
			t.Errorf("%s: dkimpy: %s", m.header("Message-ID"), out)
		}
	}
	if r.dkimChecked < clinicCount+appCount+scriptCount {
		t.Errorf("checked %d signed messages, want %d", r.dkimChecked, clinicCount+appCount+scriptCount)
	}
}

// checkDuplicates: every Message-ID arrived once at the receivers.
func (w *world) checkDuplicates(t *testing.T, r *results) {
	for _, inbox := range [][]mail{w.mx.inbox(t), w.ex.inbox(t), w.clinic.inbox(t)} {
		for id, ms := range byID(inbox) {
			if len(ms) > 1 {
				r.duplicates += len(ms) - 1
				t.Errorf("%s arrived %d times", id, len(ms))
			}
		}
	}
}

// checkLog: sealgate's operational log names the refusals (the clinic's
// forged sender, the wrong password) but holds no address and nothing of
// any message's content.
func (w *world) checkLog(t *testing.T) {
	log := w.gw.log()
	if !strings.Contains(log, "msg=rejected") || !strings.Contains(log, "reason=sender_denied code=550 client=clinic-mta") {
		t.Errorf("no line for the refused sender in sealgate's log:\n%s", tail(log, 20))
	}
	for _, leak := range []string{"@", "Staff rota", "noticeboard", "Facilities notice", "car park", "Nightly backup",
		"Lunch on Friday", "fountain", "rota.csv", "Fire drill"} {
		if strings.Contains(log, leak) {
			t.Errorf("sealgate's log holds %q", leak)
		}
	}
}
