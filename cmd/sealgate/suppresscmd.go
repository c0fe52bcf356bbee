package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sealgate/sealgate/config"
	"github.com/sealgate/sealgate/store"
)

// csvHeader is the first line of `suppress export` and what `suppress
// import` reads columns by.
var csvHeader = []string{"domain", "address", "reason", "time"}

// cmdSuppress is `sealgate suppress list|add|remove|import|export`: the
// per-sending-domain suppression list in the store the portal uses. add
// and import may create the store; list, remove and export need one.
// Every change is written to the audit log with the local user.
func cmdSuppress(inv *invocation, io stdio) int {
	cfg, src, err := commandConfig(inv)
	if err != nil {
		fmt.Fprintln(io.err, err)
		return 1
	}
	op := inv.cmd.path[1]
	if op != "add" && op != "import" {
		if err := portalStoreExists(cfg); err != nil {
			return io.fail("suppress: %v (config: %s)", err, src)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	st, _, err := openPortalStore(ctx, cfg, op == "list" || op == "export")
	if err != nil {
		return io.fail("suppress: %v", err)
	}
	defer st.Close(ctx)
	if err := suppressOp(ctx, st, cfg, op, inv, io); err != nil {
		return io.fail("suppress %s: %v", op, err)
	}
	return 0
}

func suppressOp(ctx context.Context, st *store.Store, cfg *config.Config, op string, inv *invocation, io stdio) error {
	domain := inv.flag("domain")
	needDomain := func() error {
		if domain == "" {
			return errors.New("needs --domain (the sending domain)")
		}
		return nil
	}
	switch op {
	case "list":
		return suppressList(ctx, st, domain, inv.on("json"), io.out)
	case "export":
		return suppressExport(ctx, st, domain, io.out)
	case "add":
		if err := needDomain(); err != nil {
			return err
		}
		reason := inv.flag("reason")
		if reason == "" {
			reason = store.ReasonManual
		}
		e := store.Suppression{Domain: domain, Address: inv.args[0], Reason: reason}
		return suppressChange(ctx, st, cfg, "add", e, io)
	case "remove":
		if err := needDomain(); err != nil {
			return err
		}
		return suppressChange(ctx, st, cfg, "remove", store.Suppression{Domain: domain, Address: inv.args[0]}, io)
	case "import":
		return suppressImport(ctx, st, cfg, domain, inv.args, io)
	}
	return errors.New("unknown operation")
}

// suppressChange adds or removes one entry and audits it.
func suppressChange(ctx context.Context, st *store.Store, cfg *config.Config, action string, e store.Suppression, io stdio) error {
	if action == "add" && !slices.Contains(store.Reasons, e.Reason) {
		return fmt.Errorf("--reason %q is not one of %s", e.Reason, strings.Join(store.Reasons, ", "))
	}
	if action == "add" {
		// Adding protects: it is done even if the record then fails, and the
		// failure is reported.
		if err := st.Suppress(ctx, e); err != nil {
			return err
		}
		if err := auditSuppression(cfg, action, e); err != nil {
			return fmt.Errorf("done, but the audit log could not be written: %w", err)
		}
	} else {
		// Removing lets campaign mail reach the address again: it is
		// recorded first, and not done when it cannot be.
		if on, err := st.Suppressed(ctx, e.Domain, e.Address); err != nil {
			return err
		} else if !on {
			return fmt.Errorf("%s is not on the list of %s", e.Address, e.Domain)
		}
		if err := auditSuppression(cfg, action, e); err != nil {
			return fmt.Errorf("not removed: the audit log could not be written: %w", err)
		}
		found, err := st.Unsuppress(ctx, e.Domain, e.Address)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("%s is not on the list of %s", e.Address, e.Domain)
		}
	}
	fmt.Fprintf(io.out, "%s: %sed for %s\n", e.Address, strings.TrimSuffix(action, "e"), e.Domain)
	return nil
}

func auditSuppression(cfg *config.Config, action string, e store.Suppression) error {
	l, err := openAuditLog(cfg)
	if err != nil {
		return err
	}
	defer l.Close()
	return l.Suppression(action, strings.ToLower(e.Domain), strings.ToLower(e.Address), e.Reason, localOperator(), "")
}

func suppressList(ctx context.Context, st *store.Store, domain string, asJSON bool, w io.Writer) error {
	list, err := st.Suppressions(ctx, domain)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSONList(w, list)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DOMAIN\tADDRESS\tREASON\tSINCE")
	for _, e := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.Domain, e.Address, e.Reason, e.At.Format(time.RFC3339))
	}
	return tw.Flush()
}

func suppressExport(ctx context.Context, st *store.Store, domain string, w io.Writer) error {
	list, err := st.Suppressions(ctx, domain)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.Write(csvHeader)
	for _, e := range list {
		cw.Write([]string{e.Domain, e.Address, e.Reason, e.At.Format(time.RFC3339)})
	}
	cw.Flush()
	return cw.Error()
}

// suppressImport reads CSV with a header line naming its columns (address
// is required; domain unless --domain is given; reason defaults to manual,
// time to now). Nothing is written unless every row is valid.
func suppressImport(ctx context.Context, st *store.Store, cfg *config.Config, domain string, args []string, io stdio) error {
	in := io.in
	if len(args) == 1 && args[0] != "-" {
		f, err := os.Open(args[0])
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	rows, err := readSuppressionCSV(in, domain)
	if err != nil {
		return err
	}
	for _, e := range rows {
		if err := st.Suppress(ctx, e); err != nil {
			return fmt.Errorf("%s: %w", e.Address, err)
		}
	}
	if err := auditSuppression(cfg, "import", store.Suppression{Domain: domain, Address: fmt.Sprintf("%d addresses", len(rows))}); err != nil {
		return fmt.Errorf("imported, but the audit log could not be written: %w", err)
	}
	fmt.Fprintf(io.out, "imported %d addresses\n", len(rows))
	return nil
}

// readSuppressionCSV parses and checks every row before any is stored.
func readSuppressionCSV(in io.Reader, domain string) ([]store.Suppression, error) {
	r := csv.NewReader(in)
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("CSV header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	if _, ok := col["address"]; !ok {
		return nil, errors.New("CSV header has no address column (domain,address,reason,time)")
	}
	if _, ok := col["domain"]; !ok && domain == "" {
		return nil, errors.New("CSV has no domain column: give --domain")
	}
	field := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var out []store.Suppression
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		e := store.Suppression{Domain: field(rec, "domain"), Address: field(rec, "address"), Reason: field(rec, "reason")}
		if e.Domain == "" {
			e.Domain = domain
		}
		if e.Reason == "" {
			e.Reason = store.ReasonManual
		}
		if t := field(rec, "time"); t != "" {
			if e.At, err = time.Parse(time.RFC3339, t); err != nil {
				return nil, fmt.Errorf("line %d: time %q is not RFC 3339", line, t)
			}
		}
		if !strings.Contains(e.Address, "@") || !slices.Contains(store.Reasons, e.Reason) {
			return nil, fmt.Errorf("line %d: needs an address and a reason of %s", line, strings.Join(store.Reasons, ", "))
		}
		out = append(out, e)
	}
}
