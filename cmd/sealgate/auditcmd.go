package main

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/sealgate/sealgate/audit"
)

// cmdAuditVerify is `sealgate audit verify [FILE...]`: it checks the audit
// log's hash chain and checkpoint signatures — the configured log when no
// FILE is named; a rotated series oldest first — and names the first
// broken record. With no FILE the configured log is checked together with
// the rotated files beside it, in chain order (audit.Series). The key is
// the gateway's (log.audit_key_file) or the one given with --public-key;
// verify never creates one. Exit 0: intact and
// signed, 1: broken, unsigned, or (without --partial) not checked from
// its start.
func cmdAuditVerify(inv *invocation, io stdio) int {
	files := inv.args
	pub, err := auditPublicKey(inv, len(files) == 0, &files)
	if err != nil {
		return io.fail("audit verify: %v", err)
	}
	rep, err := audit.Verify(files, pub)
	if err != nil {
		return io.fail("audit verify: %v", err)
	}
	if inv.on("json") {
		json.NewEncoder(io.out).Encode(rep)
	} else {
		printAuditReport(rep, io)
	}
	if rep.Broken != nil {
		return 1
	}
	if why := unproven(rep, inv.on("partial")); why != "" {
		fmt.Fprintf(io.err, "audit verify: NOT VERIFIED: %s\n", why)
		return 1
	}
	return 0
}

// unproven says why an unbroken chain still proves nothing, "" when it
// does. A chain anyone can compute: only a checkpoint signed by the
// gateway's key ties it to the gateway, so a log with records and no
// checkpoint could have been written without the key; a log that starts in
// the middle (seq above 1) or with lines from before the chain can only be
// vouched for from where the chain is checked, which --partial accepts.
func unproven(rep audit.Report, partial bool) string {
	switch {
	case rep.Records+rep.Unchained > 0 && rep.Checkpoints == 0:
		return "no signed checkpoint: the chain could have been written without the gateway's key"
	case partial:
		return ""
	case rep.FirstSeq > 1:
		return fmt.Sprintf("the log starts at seq %d: name the earlier files oldest first, or accept it with --partial", rep.FirstSeq)
	case rep.Unchained > 0:
		return fmt.Sprintf("%d lines before the chain are not protected: accept them with --partial", rep.Unchained)
	}
	return ""
}

func printAuditReport(rep audit.Report, io stdio) {
	if b := rep.Broken; b != nil {
		fmt.Fprintf(io.err, "%s:%d: BROKEN: %s\n", b.File, b.Line, b.Why)
		fmt.Fprintf(io.out, "%d records verified before line %d of %s\n", rep.Records, b.Line, b.File)
		return
	}
	fmt.Fprintf(io.out, "ok: %d records in %d file(s), chain intact, %d signed checkpoints\n",
		rep.Records, len(rep.Files), rep.Checkpoints)
	if rep.FirstSeq > 1 {
		fmt.Fprintf(io.out, "the first record is seq %d: it continues an earlier file, not given here (name the rotated files oldest first to check the link)\n", rep.FirstSeq)
	}
	if rep.Unchained > 0 {
		fmt.Fprintf(io.out, "%d lines at the start were written before the hash chain and are not protected\n", rep.Unchained)
	}
	if rep.Unsigned > 0 {
		fmt.Fprintf(io.out, "%d records after the last checkpoint are chained but not yet signed: their removal from the end would not show (the gateway signs within a minute and at shutdown)\n", rep.Unsigned)
	}
}

// auditPublicKey is the key checkpoints must be signed with: --public-key
// (hex, from `sealgate audit key` on the gateway), or the configured key
// file. With no files named, the configured audit log and its rotated
// files are the files.
func auditPublicKey(inv *invocation, wantFile bool, files *[]string) (ed25519.PublicKey, error) {
	var pub ed25519.PublicKey
	if h := inv.flag("public-key"); h != "" {
		b, err := hex.DecodeString(h)
		if err != nil || len(b) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("--public-key: want %d bytes in hex", ed25519.PublicKeySize)
		}
		pub = b
	}
	if pub != nil && !wantFile {
		return pub, nil
	}
	cfg, src, err := commandConfig(inv)
	if err != nil {
		return nil, err
	}
	if wantFile {
		if cfg.Log.AuditFile == "-" {
			return nil, fmt.Errorf("the audit log goes to standard error (config: %s): name the files to check", src)
		}
		series, err := audit.Series(cfg.Log.AuditFile)
		if err != nil {
			return nil, fmt.Errorf("%w (config: %s)", err, src)
		}
		*files = series
	}
	if pub != nil {
		return pub, nil
	}
	key, err := audit.LoadKey(cfg.Log.AuditKeyFile)
	if err != nil {
		return nil, fmt.Errorf("%w (config: %s; or give --public-key)", err, src)
	}
	return key.Public().(ed25519.PublicKey), nil
}

// cmdAuditKey is `sealgate audit key`: the hex public key that verifies
// the audit log's checkpoints, for an auditor to keep apart from the log.
func cmdAuditKey(inv *invocation, io stdio) int {
	cfg, src, err := commandConfig(inv)
	if err != nil {
		return io.fail("%v", err)
	}
	key, err := audit.LoadKey(cfg.Log.AuditKeyFile)
	if err != nil {
		return io.fail("audit key: %v (config: %s)", err, src)
	}
	fmt.Fprintln(io.out, hex.EncodeToString(key.Public().(ed25519.PublicKey)))
	return 0
}
