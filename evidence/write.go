package evidence

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sealgate/sealgate/mail"
)

// WriteJSONL writes one JSON object per record and line.
func WriteJSONL(w io.Writer, recs []Record) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, r := range recs {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}

// CSVHeader returns the names of WriteCSV's columns, in order.
func CSVHeader() []string { return slices.Clone(csvHeader) }

var csvHeader = []string{"queue_id", "recipient", "accepted", "client", "client_addr", "sender", "origin",
	"phi", "action", "forced_method", "deciding_rule", "rules", "reasons", "method", "method_reason", "consent",
	"encryption", "attempts", "last_tls_version", "last_tls_cipher", "last_peer_auth", "last_code", "last_enhanced",
	"result", "result_at", "notice", "portal", "operator", "verified", "audit_seqs"}

// WriteCSV writes a header and one row per record. Lists are joined
// with "; " inside a cell: rules, reasons as detector×count, attempts as
// "N time result code enhanced method tls cipher peer_auth", the portal
// notification as "queue_id result time tls cipher peer_auth" of its last
// attempt, portal and operator events as "time event actor". A cell that a spreadsheet would
// take for a formula (it starts with =, +, -, @, a tab or a carriage
// return) is prefixed with an apostrophe.
func WriteCSV(w io.Writer, recs []Record) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	for _, r := range recs {
		if err := cw.Write(csvRow(r)); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func csvRow(r Record) []string {
	var last Attempt
	if n := len(r.Attempts); n > 0 {
		last = r.Attempts[n-1]
	}
	row := []string{r.QueueID, r.Recipient, stamp(r.Accepted), r.Client, r.ClientAddr, r.Sender, r.Origin,
		strconv.FormatBool(r.Policy.PHI), r.Policy.Action, r.Policy.ForcedMethod, r.Policy.DecidingRule,
		strings.Join(r.Policy.Rules, "; "), joinReasons(r.Policy.Reasons), r.Method, r.MethodReason, consentText(r.Consent),
		r.Encryption, joinAttempts(r.Attempts), last.TLSVersion, last.TLSCipher, last.PeerAuth, code(last.Code),
		last.Enhanced, r.Result, stamp(r.ResultAt), noticeText(r.Notice), joinPortal(r.Portal), joinOperator(r.Operator),
		strconv.FormatBool(r.Verified), joinSeqs(r.AuditSeqs)}
	for i, c := range row {
		row[i] = defuse(c)
	}
	return row
}

// defuse keeps a spreadsheet from running a cell as a formula.
func defuse(c string) string {
	if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
		return "'" + c
	}
	return c
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func code(c int) string {
	if c == 0 {
		return ""
	}
	return strconv.Itoa(c)
}

func joinReasons(rs []Reason) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = fmt.Sprintf("%s×%d", r.Detector, r.Count)
	}
	return strings.Join(parts, "; ")
}

func joinAttempts(as []Attempt) string {
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = strings.Join(nonEmpty(strconv.Itoa(a.Attempt), stamp(a.Time), a.Result, code(a.Code), a.Enhanced,
			a.Method, a.TLSVersion, a.TLSCipher, a.PeerAuth), " ")
	}
	return strings.Join(parts, "; ")
}

func noticeText(n *Notice) string {
	if n == nil {
		return ""
	}
	var last Attempt
	if k := len(n.Attempts); k > 0 {
		last = n.Attempts[k-1]
	}
	return strings.Join(nonEmpty(n.QueueID, n.Result, stamp(n.ResultAt), last.TLSVersion, last.TLSCipher, last.PeerAuth), " ")
}

func joinPortal(es []PortalEvent) string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = strings.Join(nonEmpty(stamp(e.Time), e.Event, e.Actor), " ")
	}
	return strings.Join(parts, "; ")
}

func joinOperator(os []Operator) string {
	parts := make([]string, len(os))
	for i, o := range os {
		parts[i] = strings.Join(nonEmpty(stamp(o.Time), o.Action, o.Result, o.Operator), " ")
	}
	return strings.Join(parts, "; ")
}

func joinSeqs(s []uint64) string {
	parts := make([]string, len(s))
	for i, n := range s {
		parts[i] = strconv.FormatUint(n, 10)
	}
	return strings.Join(parts, " ")
}

func nonEmpty(ss ...string) []string {
	out := ss[:0]
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// WriteText writes the records for a person at the console: per
// recipient, who sent it, the verdict and the method, then its path as
// one timeline (attempts, portal events, operator actions) and the result.
func WriteText(w io.Writer, recs []Record) error {
	var b strings.Builder
	for i, r := range recs {
		if i > 0 {
			b.WriteString("\n")
		}
		writeHead(&b, r)
		for _, l := range timeline(r) {
			fmt.Fprintf(&b, "  %-30s  %-9s %s\n", stamp(l.at), l.kind, l.text)
		}
		fmt.Fprintf(&b, "  result: %s at %s\n", r.Result, orNone(stamp(r.ResultAt)))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// event is one line of a record's timeline.
type event struct {
	at         time.Time
	kind, text string
}

func timeline(r Record) []event {
	var out []event
	for _, a := range r.Attempts {
		out = append(out, event{a.Time, fmt.Sprintf("attempt %d", a.Attempt), attemptText(a)})
	}
	if n := r.Notice; n != nil {
		for _, a := range n.Attempts {
			out = append(out, event{a.Time, "notice", fmt.Sprintf("%s attempt %d %s", n.QueueID, a.Attempt, attemptText(a))})
		}
	}
	for _, p := range r.Portal {
		out = append(out, event{p.Time, "portal", strings.Join(nonEmpty(p.Event, p.Actor, p.Remote, p.Detail), " ")})
	}
	for _, o := range r.Operator {
		out = append(out, event{o.Time, "operator", fmt.Sprintf("%s %s (%s)", o.Action, o.Result, o.Operator)})
	}
	slices.SortStableFunc(out, func(a, b event) int { return a.at.Compare(b.at) })
	return out
}

func writeHead(w io.Writer, r Record) {
	fmt.Fprintf(w, "%s → %s\n", r.QueueID, r.Recipient)
	fmt.Fprintf(w, "  accepted: %s from %s, client %s at %s%s\n", orNone(stamp(r.Accepted)), orNone(r.Sender),
		orNone(r.Client), orNone(r.ClientAddr), originText(r.Origin))
	fmt.Fprintf(w, "  policy:   phi=%t action=%s; reasons: %s; rules: %s%s\n", r.Policy.PHI, r.Policy.Action,
		orNone(joinReasons(r.Policy.Reasons)), orNone(strings.Join(r.Policy.Rules, ", ")), decidedBy(r.Policy.DecidingRule))
	fmt.Fprintf(w, "  method:   %s%s\n", orNone(r.Method), prefixed(": ", r.MethodReason))
	if r.Consent != nil {
		fmt.Fprintf(w, "  consent:  %s\n", consentText(r.Consent))
	}
	if r.Encryption != "" {
		fmt.Fprintf(w, "  content:  encrypted %s\n", r.Encryption)
	}
	if !r.Verified {
		fmt.Fprintf(w, "  NOT VERIFIED: audit records %s are not all covered by a signed checkpoint\n", joinSeqs(r.AuditSeqs))
	}
}

// consentText is a consent basis as "ID given CHANNEL at TIME".
func consentText(c *mail.ConsentBasis) string {
	if c == nil {
		return ""
	}
	return fmt.Sprintf("%s given %s at %s", c.ID, orNone(c.Channel), orNone(stamp(c.At)))
}

func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}

func attemptText(a Attempt) string {
	s := a.Result
	s += prefixed(" ", code(a.Code)) + prefixed(" ", a.Enhanced)
	if a.Method != "" {
		s += " via " + a.Method
	}
	if a.RemoteMTA != "" {
		s += " to " + a.RemoteMTA
	}
	switch {
	case a.TLSVersion != "":
		s += fmt.Sprintf(" over %s%s, peer auth %s", a.TLSVersion, prefixed(" ", a.TLSCipher), orNone(a.PeerAuth))
	case a.PeerAuth != "":
		s += " without TLS"
	}
	if a.RemoteText != "" {
		s += ": " + a.RemoteText
	}
	return s
}

func originText(o string) string {
	if o == "" {
		return ""
	}
	return " (written by sealgate: " + o + ")"
}

func decidedBy(rule string) string {
	if rule == "" {
		return ""
	}
	return " (decided by " + rule + ")"
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
