// Command phicheck reads one RFC 5322 message on standard input and prints the policy
// verdict as one JSON object, with the default policy. It exists to score the policy
// engine against labelled message sets; `sealgate check` is the tool for operators.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/sealgate/sealgate/policy"
)

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "phicheck:", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer) error {
	msg, err := io.ReadAll(io.LimitReader(in, 256<<20))
	if err != nil {
		return fmt.Errorf("read message: %w", err)
	}
	eng, err := policy.New(policy.Config{})
	if err != nil {
		return err
	}
	v, err := eng.Check(context.Background(), msg, policy.Input{})
	if err != nil {
		return err
	}
	enc := json.NewEncoder(out)
	return enc.Encode(v)
}
