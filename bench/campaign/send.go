package main

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"log"
	"math/rand/v2"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// dial opens an SMTP session from the source address src and starts TLS.
func dial(addr, src string, cfg *tls.Config) (*smtp.Client, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 10 * time.Second}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	_ = conn.SetDeadline(time.Now().Add(5 * time.Minute)) // bounds a session that hangs
	c, err := smtp.NewClientStartTLS(conn, cfg)
	if err != nil {
		conn.Close()
		return nil, err
	}
	c.CommandTimeout, c.SubmissionTimeout = time.Minute, 2*time.Minute
	return c, nil
}

// sendLane sends campaign messages, o.mps per session, taking message
// numbers from next until o.n are sent or the deadline passes.
func sendLane(o options, cfg *tls.Config, lane int, next, sent, failed *atomic.Int64, deadline time.Time) {
	rng := rand.New(rand.NewPCG(uint64(lane), 7))
	for time.Now().Before(deadline) {
		c, err := dial(o.mta, o.campaignIP, cfg)
		if err != nil {
			log.Printf("lane %d: %v", lane, err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		for range o.mps {
			i := int(next.Add(1)) - 1
			if i >= o.n {
				c.Close()
				return
			}
			rcpt, msg := marketing(o, i, rng)
			if err := c.SendMail(o.from, []string{rcpt}, bytes.NewReader(msg)); err != nil {
				failed.Add(1)
				log.Printf("lane %d: message %d: %v", lane, i, err)
				break
			}
			sent.Add(1)
		}
		_ = c.Quit()
	}
}

// sendTransactional sends o.t reminders, one each time another n/t of the
// campaign has been accepted, each on its own session (as an EHR sends
// them), and notes when each was accepted.
func sendTransactional(o options, cfg *tls.Config, sent *atomic.Int64, accepted []time.Time, failed *atomic.Int64, deadline time.Time) {
	for i := range o.t {
		due := int64(o.n) * int64(i) / int64(o.t)
		for sent.Load() < due && time.Now().Before(deadline) {
			time.Sleep(2 * time.Millisecond)
		}
		rcpt := fmt.Sprintf("patient%d@d%d.bench.invalid", i, i%o.domains)
		msg := fmt.Sprintf("From: Clinic Appointments <appointments@clinic.bench.invalid>\r\nTo: <%s>\r\n"+
			"Subject: Your appointment tomorrow at 09:30\r\nMessage-ID: <txn-%d@clinic.bench.invalid>\r\nX-Bench-ID: txn-%d\r\n"+
			"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"+
			"This is a reminder of your appointment tomorrow at 09:30.\r\nReply to this message to reschedule.\r\n", rcpt, i, i)
		c, err := dial(o.mta, o.txnIP, cfg)
		if err == nil {
			err = c.SendMail("appointments@clinic.bench.invalid", []string{rcpt}, strings.NewReader(msg))
			if err == nil {
				accepted[i] = time.Now()
			}
			_ = c.Quit()
		}
		if err != nil {
			failed.Add(1)
			log.Printf("transactional %d: %v", i, err)
		}
	}
}

// words make up the campaign's newsletter text.
var words = strings.Fields(`our community team invites you to the autumn open days with a
garden tour a photo exhibition and a walking group every saturday morning the new visitor
centre opens next month with longer hours on weekdays parking is free for members and guests
read about the library cafe the volunteer programme and the concert series in your area bring
your friends and family to the open evening and meet the people behind the newsletter we look
forward to seeing you`)

// marketing is campaign message i: a personalised newsletter of 5 to 20
// KB to its own recipient, or one time in phiShare a PHI notice.
func marketing(o options, i int, rng *rand.Rand) (string, []byte) {
	if isPHI(i) {
		return phiNotice(o, i, rng)
	}
	rcpt := fmt.Sprintf("member%d@d%d.bench.invalid", i, i%o.domains)
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: Clinic News <%s>\r\nTo: Member %d <%s>\r\nSubject: Member %d, your autumn wellness news\r\n"+
		"Message-ID: <mkt-%d@clinic.bench.invalid>\r\nX-Bench-ID: mkt-%d\r\nMIME-Version: 1.0\r\n"+
		"Content-Type: text/plain; charset=utf-8\r\n\r\nDear member %d,\r\n\r\n", o.from, i, rcpt, i, i, i, i)
	pad(&b, 5*1024+rng.IntN(15*1024), rng)
	b.WriteString("\r\n\r\nYou receive this newsletter as a member of our clinic.\r\n")
	return rcpt, b.Bytes()
}

// pad appends the newsletter's words to b until it holds size bytes.
func pad(b *bytes.Buffer, size int, rng *rand.Rand) {
	line := 0
	for b.Len() < size {
		w := words[rng.IntN(len(words))]
		if line+len(w) > 72 {
			b.WriteString("\r\n")
			line = 0
		}
		b.WriteString(w)
		b.WriteByte(' ')
		line += len(w) + 1
	}
}
