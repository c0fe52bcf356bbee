// Command sealgate is a zero-trust outbound SMTP gateway for healthcare.
//
// Every verb is parsed by one parser (cli.go): flags may come before or
// after the verb and its arguments, a flag a verb does not take is an
// error, --help works on every verb, and `sealgate completion bash`
// prints a completion script made from the same table. Every verb that
// reads a configuration finds it by the same rule (findConfig).
//
//	sealgate serve                       run the gateway
//	sealgate check [FILE]                policy verdict for one message, as JSON
//	sealgate queue list|show|retry|release|delete|flush
//	sealgate portal list|revoke|purge|audit
//	sealgate config check                every problem in a config file
//	sealgate reload                      re-read config, keys and certificates
//	sealgate audit verify [FILE...]      check the audit log's hash chain
//	sealgate audit key                   the audit log's public key
//	sealgate apikey new|list|revoke      keys of the HTTP API
//	sealgate passwd                      print a password hash for the config
//	sealgate dkim keygen                 make a DKIM key
//	sealgate completion bash             shell completion
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run parses the command line, runs the command and returns the exit
// status: 0 done, 1 failed, 2 a command line that cannot be run.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	std := stdio{in: stdin, out: stdout, err: stderr}
	inv, err := parseArgs(args)
	if err != nil {
		var ue *usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "sealgate: %v\nrun `sealgate help` for the commands, `sealgate COMMAND --help` for one\n", err)
			return 2
		}
		return std.fail("%v", err)
	}
	if inv.help {
		printHelp(inv, stdout)
		return 0
	}
	return inv.cmd.run(inv, std)
}

// printJSON writes v as indented JSON, the form of every command's --json
// output.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printJSONList is printJSON for a list, which is [] when empty (never
// null).
func printJSONList[T any](w io.Writer, list []T) error {
	if list == nil {
		list = []T{}
	}
	return printJSON(w, list)
}

// stdio are a command's standard streams.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

func (s stdio) fail(format string, a ...any) int {
	fmt.Fprintf(s.err, "sealgate: "+format+"\n", a...)
	return 1
}
