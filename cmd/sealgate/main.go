// Command sealgate is a zero-trust outbound SMTP gateway for healthcare.
//
//	sealgate serve   [--config FILE]          run the gateway (no config: safe local defaults)
//	sealgate check   [--config FILE] [FILE]   policy verdict for one message, as JSON
//	sealgate queue   list|show ID|retry ID|delete ID|flush [--config FILE]
//	sealgate passwd                            read a password, print its hash for the config
//	sealgate dkim keygen --domain D --selector S [--algo rsa|ed25519] [--dir DIR]
//	sealgate portal  [--config FILE] [--json] list|revoke ID|purge|audit ID
//	sealgate config check [--config FILE]
package main

import (
	"fmt"
	"io"
	"os"
)

const usage = `usage:
  sealgate serve   [--config FILE]          run the gateway (no config: safe local defaults)
  sealgate check   [--config FILE] [FILE]   policy verdict for one message (stdin if no FILE), JSON
  sealgate queue   [--config FILE] list|show ID|retry ID|delete ID|flush
  sealgate passwd                            read a password, print its hash for the config
  sealgate dkim keygen --domain D --selector S [--algo rsa|ed25519] [--dir DIR]
  sealgate portal  [--config FILE] [--json] list|revoke ID|purge|audit ID
  sealgate config check [--config FILE]
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run dispatches a subcommand and returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	io := stdio{in: stdin, out: stdout, err: stderr}
	switch args[0] {
	case "serve":
		return cmdServe(args[1:], io)
	case "check":
		return cmdCheck(args[1:], io)
	case "queue":
		return cmdQueue(args[1:], io)
	case "passwd":
		return cmdPasswd(args[1:], io)
	case "dkim":
		return cmdDKIM(args[1:], io)
	case "portal":
		return cmdPortal(args[1:], io)
	case "config":
		return cmdConfig(args[1:], io)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "sealgate: unknown command %q\n%s", args[0], usage)
	return 2
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
