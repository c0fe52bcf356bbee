package main

import (
	"crypto/tls"
	"errors"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/sealgate/sealgate/internal/pgtest"
	"github.com/sealgate/sealgate/smtpd"
)

// TestFailedLoginsSharedAcrossNodes: two gateways on one PostgreSQL
// store. Password guessing from one address at node A is counted in the
// store, so node B, which has seen no failure itself, refuses that
// address's next login (454 4.7.0) even with the right password. With the
// database stopped, B falls back to its own count and lets the right
// password in: a store outage never stops logins.
func TestFailedLoginsSharedAcrossNodes(t *testing.T) {
	t.Parallel()
	pg := pgtest.StartCluster(t)
	url := pgtest.NewDB(t, pg.URL)
	a := newCampaignEnv(t, "store: \""+url+"\"\n")
	b := newCampaignEnv(t, "store: \""+url+"\"\n")
	failures := 0
	for ; failures < smtpd.SharedAuthFailures; failures++ {
		err := login(t, a, "ehr", "wrong password")
		if isAuthRateLimited(err) {
			t.Fatalf("node A refused after %d failures, before the shared limit of %d", failures, smtpd.SharedAuthFailures)
		}
		if err == nil {
			t.Fatal("a wrong password was accepted")
		}
	}
	if err := login(t, b, "ehr", e2ePassword); !isAuthRateLimited(err) {
		t.Fatalf("node B after %d failed logins at node A: %v, want 454 4.7.0", failures, err)
	}
	pg.Stop(t)
	if err := login(t, b, "ehr", e2ePassword); err != nil {
		t.Fatalf("node B with the store down: %v, want the right password accepted", err)
	}
}

// login opens a STARTTLS session to e and authenticates with PLAIN,
// each attempt on a connection of its own.
func login(t *testing.T, e *campaignEnv, user, pass string) error {
	t.Helper()
	c, err := smtp.DialStartTLS(e.smtpAt, &tls.Config{RootCAs: e.ca.Pool(), ServerName: "gw.example.org"})
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Auth(sasl.NewPlainClient("", user, pass))
}

func isAuthRateLimited(err error) bool {
	var se *smtp.SMTPError
	return errors.As(err, &se) && se.Code == 454 && se.EnhancedCode == smtp.EnhancedCode{4, 7, 0}
}
