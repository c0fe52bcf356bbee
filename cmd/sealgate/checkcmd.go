package main

import (
	"context"
	"encoding/json"
	"io"
	"os"

	"github.com/sealgate/sealgate/policy"
)

// maxCheckBytes bounds what `sealgate check` reads.
const maxCheckBytes = 256 << 20

// cmdCheck is `sealgate check [--config FILE] [FILE]`: the policy verdict
// for one message as one JSON object. It prints detector names, parts and
// counts, never the matched values.
func cmdCheck(args []string, io stdio) int {
	fl := newFlags("check", io)
	path := fl.String("config", "", "config file (default: safe local defaults)")
	sender := fl.String("sender", "", "envelope sender to evaluate rules with")
	client := fl.String("client", "", "client name to evaluate rules with")
	explain := fl.Bool("explain", false, "say, per part, what was read and why the verdict is what it is")
	showValues := fl.Bool("show-values", false, "with --explain: print the matched text (for an operator at the console; never log it)")
	asJSON := fl.Bool("json", false, "with --explain: print the explanation as JSON")
	if err := fl.Parse(args); err != nil || fl.NArg() > 1 || (*showValues || *asJSON) && !*explain {
		return io.fail("usage: sealgate check [--config FILE] [--sender ADDR] [--client NAME] [--explain [--show-values] [--json]] [FILE]")
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return io.fail("%v", err)
	}
	e, err := newPolicy(cfg)
	if err != nil {
		return io.fail("%v", err)
	}
	msg, err := readMessage(fl.Arg(0), io)
	if err != nil {
		return io.fail("%v", err)
	}
	in := policy.Input{Sender: *sender, Client: *client}
	if *explain {
		return explainCheck(e, msg, in, policy.ExplainOptions{ShowValues: *showValues}, *asJSON, io)
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
