package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/sealgate/sealgate/policy"
)

// maxCheckBytes bounds what `sealgate check` reads.
const maxCheckBytes = 256 << 20

// cmdCheck is `sealgate check [FILE]`: the policy verdict
// for one message as one JSON object. It prints detector names, parts and
// counts, never the matched values.
func cmdCheck(inv *invocation, io stdio) int {
	explain, showValues, asJSON := inv.on("explain"), inv.on("show-values"), inv.on("json")
	if (showValues || asJSON) && !explain {
		fmt.Fprintf(io.err, "sealgate: --show-values and --json go with --explain\nusage: %s\n", inv.cmd.usageLine())
		return 2
	}
	cfg, _, err := commandConfig(inv)
	if err != nil {
		return io.fail("%v", err)
	}
	e, err := newPolicy(cfg)
	if err != nil {
		return io.fail("%v", err)
	}
	var name string
	if len(inv.args) == 1 {
		name = inv.args[0]
	}
	msg, err := readMessage(name, io)
	if err != nil {
		return io.fail("%v", err)
	}
	in := policy.Input{Sender: inv.flag("sender"), Client: inv.flag("client")}
	if explain {
		return explainCheck(e, msg, in, policy.ExplainOptions{ShowValues: showValues}, asJSON, io)
	}
	v, err := e.Check(context.Background(), msg, in)
	if err != nil {
		return io.fail("check: %v", err)
	}
	if err := json.NewEncoder(io.out).Encode(v); err != nil {
		return 1
	}
	return 0
}

func readMessage(name string, s stdio) ([]byte, error) {
	var r io.Reader = s.in
	if name != "" && name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	return io.ReadAll(io.LimitReader(r, maxCheckBytes))
}
