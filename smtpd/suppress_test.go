package smtpd

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"
)

// listOf is a suppression list in memory; broken makes every lookup fail.
type listOf struct {
	mu      sync.Mutex
	entries map[string]bool // "domain address"
	broken  bool
	asked   int
}

func (l *listOf) Suppressed(_ context.Context, domain, address string) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.asked++
	if l.broken {
		return false, errors.New("database is locked: secret internal detail")
	}
	return l.entries[strings.ToLower(domain+" "+address)], nil
}

// TestSuppressionRCPT: a marketing client's suppressed recipient gets
// 550 5.7.1; a list that cannot be read gets 451 4.3.0 without internal
// text (fail closed); a transactional client is never checked.
func TestSuppressionRCPT(t *testing.T) {
	t.Parallel()
	list := &listOf{entries: map[string]bool{"news.example.org pat@example.net": true}}
	h := newHarness(t, func(c *Config) {
		c.Clients[0].Marketing = true
		c.Clients[0].AllowedSenders = append(c.Clients[0].AllowedSenders, "<>")
		c.Suppressions = list
	})
	c := h.submit(t)
	err := send(c, "a@news.example.org", "pat@example.net", message("a@news.example.org", "pat@example.net", "hi"))
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 550 || se.EnhancedCode != (smtp.EnhancedCode{5, 7, 1}) || !strings.Contains(se.Message, "suppression list") {
		t.Fatalf("suppressed: %v", err)
	}
	c.Reset()
	// Marketing mail as the null sender has no list to honour: refused,
	// even when the client may use <>.
	err = send(c, "", "sam@example.net", message("a@news.example.org", "sam@example.net", "hi"))
	if !errors.As(err, &se) || se.Code != 550 || !strings.Contains(se.Message, "sender address") {
		t.Fatalf("marketing mail from <>: %v", err)
	}
	c.Reset()
	if err := send(c, "a@news.example.org", "sam@example.net", message("a@news.example.org", "sam@example.net", "hi")); err != nil {
		t.Fatalf("not suppressed: %v", err)
	}
	list.mu.Lock()
	list.broken = true
	list.mu.Unlock()
	err = send(c, "a@news.example.org", "sam@example.net", message("a@news.example.org", "sam@example.net", "hi"))
	if smtpCode(err) != 451 || strings.Contains(err.Error(), "secret") {
		t.Fatalf("broken list: %v", err)
	}
	// The transactional client (ehr, by network) is not asked about.
	list.mu.Lock()
	asked := list.asked
	list.mu.Unlock()
	r := dialRaw(t, h.relay)
	r.send("EHLO ehr.test\r\n")
	r.expect("250")
	r.send("MAIL FROM:<x@clinic.example.org>\r\n")
	r.expect("250")
	r.send("RCPT TO:<pat@example.net>\r\n")
	r.expect("250")
	list.mu.Lock()
	defer list.mu.Unlock()
	if list.asked != asked {
		t.Fatal("the list was consulted for a transactional client")
	}
}

// TestSuppressionRCPTTransactionalWhenConfigured: a transactional client
// configured to honour the list (check_suppression) has its suppressed
// recipient refused 550 5.7.1 like a marketing client, others taken; its
// null-sender mail (a relaying MTA's bounces) has no list and is taken.
func TestSuppressionRCPTTransactionalWhenConfigured(t *testing.T) {
	t.Parallel()
	list := &listOf{entries: map[string]bool{"clinic.example.org pat@example.net": true}}
	h := newHarness(t, func(c *Config) {
		c.Clients[1].CheckSuppression = true
		c.Clients[1].AllowedSenders = append(c.Clients[1].AllowedSenders, "<>")
		c.Suppressions = list
	})
	r := dialRaw(t, h.relay)
	r.send("EHLO ehr.test\r\n")
	r.expect("250")
	r.send("MAIL FROM:<x@clinic.example.org>\r\n")
	r.expect("250")
	r.send("RCPT TO:<pat@example.net>\r\n")
	r.expect("550 5.7.1")
	r.send("RCPT TO:<sam@example.net>\r\n")
	r.expect("250")
	r.send("RSET\r\n")
	r.expect("250")
	r.send("MAIL FROM:<>\r\n")
	r.expect("250")
	r.send("RCPT TO:<pat@example.net>\r\n")
	r.expect("250")
}
