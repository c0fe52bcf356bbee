package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sealgate/sealgate/config"
	"github.com/sealgate/sealgate/mail"
	"github.com/sealgate/sealgate/store"
)

// consentLookupTimeout bounds one look-up of the consent register during
// delivery; a register that does not answer in time counts as unreadable.
const consentLookupTimeout = 5 * time.Second

// cmdConsent is `sealgate consent add|revoke|list`: the register of
// patients' consents to unencrypted mail, in the store the portal uses.
// add may create the store; revoke and list need one. Adding is audited
// first and refused when the audit log cannot be written; revoking
// protects, so it is done even then, and the failure reported.
func cmdConsent(inv *invocation, io stdio) int {
	cfg, src, err := commandConfig(inv)
	if err != nil {
		fmt.Fprintln(io.err, err)
		return 1
	}
	op := inv.cmd.path[1]
	if op != "add" {
		if err := portalStoreExists(cfg); err != nil {
			return io.fail("consent: %v (config: %s)", err, src)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, _, err := openPortalStore(ctx, cfg, op == "list")
	if err != nil {
		return io.fail("consent: %v", err)
	}
	defer st.Close(ctx)
	switch op {
	case "add":
		err = consentAdd(ctx, st, cfg, inv, io)
	case "revoke":
		err = consentRevoke(ctx, st, cfg, inv.args[0], io)
	case "list":
		address := ""
		if len(inv.args) == 1 {
			address = inv.args[0]
		}
		err = consentList(ctx, st, address, inv.on("all"), inv.on("json"), io.out)
	}
	if err != nil {
		return io.fail("consent %s: %v", op, err)
	}
	return 0
}

// consentWarning is the warning the patient was shown: the text of
// --warning-file, or the reference given with --warning.
func consentWarning(inv *invocation) (string, error) {
	ref, file := inv.flag("warning"), inv.flag("warning-file")
	switch {
	case ref != "" && file != "":
		return "", errors.New("give --warning (a reference to a versioned text) or --warning-file (the text), not both")
	case ref != "":
		return ref, nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		return string(b), nil
	}
	return "", errors.New("needs the warning the patient was shown: --warning-file FILE or --warning REF")
}

func consentAdd(ctx context.Context, st *store.Store, cfg *config.Config, inv *invocation, io stdio) error {
	warning, err := consentWarning(inv)
	if err != nil {
		return err
	}
	c := store.Consent{Address: inv.args[0], Warning: warning, Channel: inv.flag("channel"), RecordedBy: localOperator()}
	if c.Channel == "" {
		return fmt.Errorf("needs --channel: one of %s", strings.Join(store.Channels, ", "))
	}
	c, err = st.NewConsent(c)
	if err != nil {
		return fmt.Errorf("%w (channels: %s)", err, strings.Join(store.Channels, ", "))
	}
	if old, ok, err := st.ActiveConsent(ctx, c.Address); err != nil {
		return err
	} else if ok {
		return fmt.Errorf("%s already has consent %s in force (revoke it first)", c.Address, old.ID)
	}
	// A consent lets PHI leave unencrypted: it is recorded in the audit log
	// first, and not added when it cannot be.
	if err := auditConsent(cfg, "add", c, c.RecordedBy); err != nil {
		return fmt.Errorf("not added: the audit log could not be written: %w", err)
	}
	if _, err := st.AddConsent(ctx, c); err != nil {
		return err
	}
	fmt.Fprintf(io.out, "%s: consent %s recorded (%s)\n", c.Address, c.ID, c.Channel)
	return nil
}

func consentRevoke(ctx context.Context, st *store.Store, cfg *config.Config, address string, io stdio) error {
	who := localOperator()
	c, err := st.RevokeConsent(ctx, address, who)
	if err != nil {
		return err
	}
	if err := auditConsent(cfg, "revoke", c, who); err != nil {
		return fmt.Errorf("revoked, but the audit log could not be written: %w", err)
	}
	fmt.Fprintf(io.out, "%s: consent %s revoked\n", c.Address, c.ID)
	return nil
}

func auditConsent(cfg *config.Config, action string, c store.Consent, who string) error {
	l, err := openAuditLog(cfg)
	if err != nil {
		return err
	}
	defer l.Close()
	return l.Consent(action, c.Address, mail.ConsentBasis{ID: c.ID, At: c.At, Channel: c.Channel}, who)
}

func consentList(ctx context.Context, st *store.Store, address string, all, asJSON bool, w io.Writer) error {
	list, err := st.Consents(ctx, address, all)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSONList(w, list)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tADDRESS\tCHANNEL\tSINCE\tRECORDED BY\tREVOKED")
	for _, c := range list {
		revoked := "-"
		if !c.Revoked.IsZero() {
			revoked = c.Revoked.Format(time.RFC3339) + " " + c.RevokedBy
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Address, c.Channel, c.At.Format(time.RFC3339), c.RecordedBy, revoked)
	}
	return tw.Flush()
}

// consentRegister is the store's consent register as the encryptor reads
// it (encrypt.Consents).
type consentRegister struct{ st *store.Store }

// Consent implements encrypt.Consents.
func (r consentRegister) Consent(ctx context.Context, addr string) (mail.ConsentBasis, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, consentLookupTimeout)
	defer cancel()
	c, ok, err := r.st.ActiveConsent(ctx, addr)
	if err != nil || !ok {
		return mail.ConsentBasis{}, false, err
	}
	return mail.ConsentBasis{ID: c.ID, At: c.At, Channel: c.Channel}, true, nil
}
