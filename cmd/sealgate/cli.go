package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sealgate/sealgate/internal/suggest"
)

// flagSpec is one flag of the command line. Every verb that takes a flag
// gives it the same meaning, so one table serves the parser, --help and
// shell completion.
type flagSpec struct {
	name string
	arg  string // the value's placeholder; "" for a switch
	help string
}

// flagTable lists every flag of every verb.
var flagTable = []flagSpec{
	{"config", "FILE", "config file (default: see `sealgate help config`)"},
	{"json", "", "print JSON"},
	{"sender", "ADDR", "envelope sender to evaluate rules with"},
	{"client", "NAME", "a configured client: check evaluates rules as it, apikey new makes a key for it"},
	{"explain", "", "say, per part, what was read and why the verdict is what it is"},
	{"show-values", "", "with --explain: print the matched text (at the console only; never log it)"},
	{"content", "", "print the held message itself (operator only, audited)"},
	{"domain", "D", "the mail domain: signing domain (d=) for dkim keygen, sending domain for dns check and suppress"},
	{"ip", "ADDRS", "the gateway's sending addresses, comma-separated (default: the addresses hostname resolves to)"},
	{"selector", "S", "selector (s=)"},
	{"algo", "ALGO", "rsa (2048), rsa3072, rsa4096 or ed25519"},
	{"dir", "DIR", "folder for the key file"},
	{"reason", "R", "why an address is suppressed: hard_bounce, unsubscribe, complaint or manual (default)"},
	{"public-key", "HEX", "the audit key to check checkpoints with (from `sealgate audit key`), instead of the configured key file"},
	{"partial", "", "audit verify, evidence: accept a log that continues a file not given, or begins with lines from before the chain"},
	{"since", "D", "evidence export: recipients with any event in the last D (90m, 24h, 7d) or since an RFC 3339 time"},
	{"recipient", "R", "evidence export: only this recipient address (any case)"},
	{"message", "ID", "evidence export: only this queue ID"},
	{"format", "FMT", "evidence export: jsonl (one JSON record a line) or csv"},
	{"channel", "C", "how the patient gave consent: portal, paper, phone, in-person, email or other"},
	{"warning", "REF", "consent add: the versioned warning text the patient was shown (a reference, e.g. warning-v3)"},
	{"warning-file", "FILE", "consent add: a file holding the warning text the patient was shown"},
	{"all", "", "consent list: revoked consents too"},
	{"since", "DURATION", "stats: the period to report, back from now (24h, 7d; counted by the hour). Default: 24h"},
	{"deadline", "DURATION", "node drain: how long to deliver before handing the rest to a peer (default: cluster.drain_deadline)"},
	{"peer", "HOST:PORT", "node drain: the peer's hand-off listener (default: cluster.peers, in order)"},
	{"no-wait", "", "node drain: return once draining has begun, instead of when the node is drained"},
	{"help", "", "show help for this command"},
}

func lookupFlag(name string) (flagSpec, bool) {
	for _, f := range flagTable {
		if f.name == name {
			return f, true
		}
	}
	return flagSpec{}, false
}

// command is one verb (or verb and sub-verb) of the command line.
type command struct {
	path    []string // "queue", "show"
	args    string   // positional arguments, for usage: "ID", "[FILE]"
	minArgs int
	maxArgs int
	flags   []string // the flags it takes besides --help
	summary string
	run     func(inv *invocation, io stdio) int
}

// usageLine is "sealgate queue show ID [--content] [--config FILE]".
func (c *command) usageLine() string {
	parts := append([]string{"sealgate"}, c.path...)
	if c.args != "" {
		parts = append(parts, c.args)
	}
	for _, name := range c.flags {
		f, _ := lookupFlag(name)
		if f.arg != "" {
			parts = append(parts, "[--"+name+" "+f.arg+"]")
		} else {
			parts = append(parts, "[--"+name+"]")
		}
	}
	return strings.Join(parts, " ")
}

func (c *command) name() string { return strings.Join(c.path, " ") }

// invocation is a parsed command line.
type invocation struct {
	cmd   *command
	args  []string
	flags map[string]string // switches are "true"
	help  bool
	// group is set when only a verb with sub-verbs was named, for help;
	// overview when no verb was.
	group    string
	overview bool
}

func (inv *invocation) flag(name string) string { return inv.flags[name] }
func (inv *invocation) on(name string) bool     { return inv.flags[name] == "true" }

// commands is the command line, built once by commandTable and never
// changed (an init function, as help refers back to the table).
var commands []*command

func init() { commands = commandTable() }

func commandTable() []*command {
	cfg := []string{"config"}
	return []*command{
		{path: []string{"serve"}, flags: cfg, summary: "run the gateway (no config found: safe local defaults)", run: cmdServe},
		{path: []string{"check"}, args: "[FILE]", maxArgs: 1,
			flags:   []string{"config", "sender", "client", "explain", "show-values", "json"},
			summary: "policy verdict for one message (stdin if no FILE), JSON", run: cmdCheck},
		{path: []string{"queue", "list"}, flags: cfg, summary: "messages in the running gateway's queue", run: cmdQueue},
		{path: []string{"queue", "show"}, args: "ID", minArgs: 1, maxArgs: 1, flags: []string{"config", "content"},
			summary: "one message's envelope and state; --content prints a held message (audited)", run: cmdQueue},
		{path: []string{"queue", "retry"}, args: "ID", minArgs: 1, maxArgs: 1, flags: cfg,
			summary: "try a message now (audited)", run: cmdQueue},
		{path: []string{"queue", "release"}, args: "ID", minArgs: 1, maxArgs: 1, flags: cfg,
			summary: "release a message held by a quarantine rule for delivery (audited)", run: cmdQueue},
		{path: []string{"queue", "delete"}, args: "ID", minArgs: 1, maxArgs: 1, flags: cfg,
			summary: "remove a message without delivering it (audited)", run: cmdQueue},
		{path: []string{"queue", "flush"}, flags: cfg, summary: "make every waiting message due now (audited)", run: cmdQueue},
		{path: []string{"portal", "list"}, flags: []string{"config", "json"}, summary: "messages in the pickup portal", run: cmdPortal},
		{path: []string{"portal", "revoke"}, args: "ID", minArgs: 1, maxArgs: 1, flags: cfg,
			summary: "revoke a portal message and delete its content (audited)", run: cmdPortal},
		{path: []string{"portal", "purge"}, flags: cfg, summary: "delete expired portal messages (audited)", run: cmdPortal},
		{path: []string{"portal", "audit"}, args: "ID", minArgs: 1, maxArgs: 1, flags: []string{"config", "json"},
			summary: "a portal message's access record", run: cmdPortal},
		{path: []string{"config", "check"}, flags: cfg, summary: "check a config file: every problem, with file and line", run: cmdConfigCheck},
		{path: []string{"reload"}, flags: cfg, summary: "make the running gateway re-read config, keys and certificates (as SIGHUP)", run: cmdReload},
		{path: []string{"health"}, flags: cfg,
			summary: "exit 0 if the running gateway takes mail (ready) or is out of service on purpose (draining, drained), 1 with the reason if not (container health checks)", run: cmdHealth},
		{path: []string{"audit", "verify"}, args: "[FILE...]", maxArgs: 1000, flags: []string{"config", "public-key", "json", "partial"},
			summary: "check the audit log's hash chain and signed checkpoints (rotated files oldest first); names the first broken record", run: cmdAuditVerify},
		{path: []string{"audit", "key"}, flags: cfg,
			summary: "print the public key that verifies the audit log's checkpoints (give it to the auditor)", run: cmdAuditKey},
		{path: []string{"evidence", "export"}, flags: []string{"config", "since", "recipient", "message", "format", "public-key", "partial"},
			summary: "per recipient: client, sender, policy reasons and rules, method and why, each attempt's TLS and reply, result, portal events; from the verified audit log (nothing from a broken one)", run: cmdEvidence},
		{path: []string{"evidence", "show"}, args: "QUEUE_ID", minArgs: 1, maxArgs: 1, flags: []string{"config", "json", "public-key", "partial"},
			summary: "the evidence for one message, per recipient, as a timeline for the console; with a shared store, names the node that holds a message this one does not", run: cmdEvidence},
		{path: []string{"apikey", "new"}, flags: []string{"config", "client"},
			summary: "make a key for the HTTP API for a configured client; printed once, stored as a hash", run: cmdAPIKey},
		{path: []string{"apikey", "list"}, flags: []string{"config", "json"}, summary: "the API keys (never the keys themselves)", run: cmdAPIKey},
		{path: []string{"apikey", "revoke"}, args: "ID", minArgs: 1, maxArgs: 1, flags: cfg,
			summary: "revoke an API key at once", run: cmdAPIKey},
		{path: []string{"passwd"}, summary: "read a password, print its hash for the config", run: cmdPasswd},
		{path: []string{"dkim", "keygen"}, flags: []string{"domain", "selector", "algo", "dir"},
			summary: "write a DKIM key and print the DNS record to publish", run: cmdDKIM},
		{path: []string{"dns", "check"}, flags: []string{"config", "domain", "ip", "json"},
			summary: "explain a sending domain's SPF, DKIM, DMARC, MTA-STS, TLS-RPT and the gateway's reverse DNS, and print the records to publish", run: cmdDNSCheck},
		{path: []string{"suppress", "list"}, flags: []string{"config", "domain", "json"},
			summary: "the suppression list (of one sending domain with --domain)", run: cmdSuppress},
		{path: []string{"suppress", "add"}, args: "ADDRESS", minArgs: 1, maxArgs: 1, flags: []string{"config", "domain", "reason"},
			summary: "stop marketing mail from --domain to ADDRESS (audited)", run: cmdSuppress},
		{path: []string{"suppress", "remove"}, args: "ADDRESS", minArgs: 1, maxArgs: 1, flags: []string{"config", "domain"},
			summary: "take ADDRESS off the list of --domain (audited)", run: cmdSuppress},
		{path: []string{"suppress", "import"}, args: "[FILE]", maxArgs: 1, flags: []string{"config", "domain"},
			summary: "add the rows of a CSV file (stdin if no FILE): domain,address,reason,time (audited)", run: cmdSuppress},
		{path: []string{"suppress", "export"}, flags: []string{"config", "domain"},
			summary: "print the list as CSV: domain,address,reason,time", run: cmdSuppress},
		{path: []string{"consent", "add"}, args: "ADDRESS", minArgs: 1, maxArgs: 1,
			flags:   []string{"config", "channel", "warning", "warning-file"},
			summary: "record a patient's consent to unencrypted mail after the warning (audited first)", run: cmdConsent},
		{path: []string{"consent", "revoke"}, args: "ADDRESS", minArgs: 1, maxArgs: 1, flags: cfg,
			summary: "withdraw ADDRESS's consent at once: mail not yet delivered is protected again (audited)", run: cmdConsent},
		{path: []string{"consent", "list"}, args: "[ADDRESS]", maxArgs: 1, flags: []string{"config", "all", "json"},
			summary: "consents in force (with --all, revoked ones too)", run: cmdConsent},
		{path: []string{"store", "status"}, flags: []string{"config", "json"},
			summary: "the shared store's backend, schema version and pending migrations (read-only; creates nothing)", run: cmdStore},
		{path: []string{"store", "migrate"}, flags: cfg,
			summary: "apply the shared store's pending migrations and print what was done (serve does it on start too)", run: cmdStore},
		{path: []string{"stats"}, flags: []string{"config", "since", "json"},
			summary: "per sending domain: sent, delivered, deferred, bounced by class, complaints, unsubscribes, suppressed, and the rates (providers' limits marked)", run: cmdStats},
		{path: []string{"node", "drain"}, flags: []string{"config", "deadline", "peer", "no-wait", "json"},
			summary: "take the node out of service: SMTP 421, API and /readyz 503, deliver until the deadline, then hand the spool to a peer; waits until drained (audited)", run: cmdNode},
		{path: []string{"node", "status"}, flags: []string{"config", "json"},
			summary: "serving, draining or drained; spool counts and hand-off progress", run: cmdNode},
		{path: []string{"node", "resume"}, flags: []string{"config", "json"},
			summary: "make a draining or drained node take mail again (audited)", run: cmdNode},
		{path: []string{"completion"}, args: "bash", minArgs: 1, maxArgs: 1,
			summary: "print the shell completion script (source <(sealgate completion bash))", run: cmdCompletion},
		{path: []string{"help"}, args: "[COMMAND...]", maxArgs: 3, summary: "help on a command, or on the config file lookup (help config)", run: cmdHelp},
	}
}

// usageError is a command line that cannot be run; the message says why
// and what would be right.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// parseArgs reads a whole command line: flags may come before the verb,
// between verb and arguments, or after them; "--" ends the flags. A flag
// the verb does not take is an error, never silently ignored.
func parseArgs(args []string) (*invocation, error) {
	inv := &invocation{flags: map[string]string{}}
	var words []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			words = append(words, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			words = append(words, a)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-"), "=")
		if name == "h" {
			name = "help"
		}
		f, ok := lookupFlag(name)
		if !ok {
			return nil, usagef("unknown flag %s%s", a, didYouMean(name, flagNames(), "--"))
		}
		switch {
		case f.arg == "" && hasValue:
			return nil, usagef("--%s takes no value", name)
		case f.arg == "":
			value = "true"
		case !hasValue:
			if i+1 >= len(args) {
				return nil, usagef("--%s needs a value (%s)", name, f.arg)
			}
			i++
			value = args[i]
		}
		if _, dup := inv.flags[name]; dup {
			return nil, usagef("--%s given twice", name)
		}
		inv.flags[name] = value
	}
	inv.help = inv.on("help")
	delete(inv.flags, "help")
	if err := inv.resolve(words); err != nil {
		return nil, err
	}
	return inv, nil
}

// resolve finds the command named by the leading words; the rest are its
// arguments.
func (inv *invocation) resolve(words []string) error {
	if len(words) == 0 {
		if inv.help {
			inv.cmd, inv.overview = findCommand("help"), true
			return nil
		}
		return usagef("no command given")
	}
	verb := words[0]
	subs := subcommands(verb)
	if len(subs) == 0 && findCommand(verb) == nil {
		return usagef("unknown command %q%s", verb, didYouMean(verb, verbs(), ""))
	}
	if len(subs) > 0 {
		if len(words) < 2 {
			if inv.help {
				inv.group = verb
				inv.cmd = findCommand("help")
				return nil
			}
			return usagef("sealgate %s needs one of: %s", verb, strings.Join(subs, ", "))
		}
		if !slices.Contains(subs, words[1]) {
			return usagef("unknown command %q%s (sealgate %s takes: %s)", verb+" "+words[1],
				didYouMean(words[1], subs, verb+" "), verb, strings.Join(subs, ", "))
		}
		inv.cmd, inv.args = findCommand(verb, words[1]), words[2:]
	} else {
		inv.cmd, inv.args = findCommand(verb), words[1:]
	}
	if inv.help {
		return nil
	}
	return inv.check()
}

// check compares flags and arguments with what the command takes.
func (inv *invocation) check() error {
	c := inv.cmd
	for name := range inv.flags {
		if !slices.Contains(c.flags, name) {
			takes := "no flags"
			if len(c.flags) > 0 {
				takes = "--" + strings.Join(c.flags, ", --")
			}
			return usagef("sealgate %s does not take --%s (it takes %s)", c.name(), name, takes)
		}
	}
	if n := len(inv.args); n < c.minArgs || n > c.maxArgs {
		return usagef("wrong number of arguments\nusage: %s", c.usageLine())
	}
	return nil
}

func findCommand(path ...string) *command {
	for _, c := range commands {
		if slices.Equal(c.path, path) {
			return c
		}
	}
	return nil
}

// subcommands returns the sub-verbs of verb, nil for a verb without.
func subcommands(verb string) []string {
	var out []string
	for _, c := range commands {
		if len(c.path) == 2 && c.path[0] == verb {
			out = append(out, c.path[1])
		}
	}
	return out
}

// verbs returns the first words of every command, each once.
func verbs() []string {
	var out []string
	for _, c := range commands {
		if !slices.Contains(out, c.path[0]) {
			out = append(out, c.path[0])
		}
	}
	return out
}

func flagNames() []string {
	out := make([]string, len(flagTable))
	for i, f := range flagTable {
		out[i] = f.name
	}
	return out
}

// didYouMean returns `; did you mean "PREFIXbest"?` for the candidate closest
// to word, or "" when none is close.
func didYouMean(word string, candidates []string, prefix string) string {
	if best := suggest.Closest(word, candidates); best != "" {
		return fmt.Sprintf("; did you mean %q?", prefix+best)
	}
	return ""
}
