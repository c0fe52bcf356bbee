package main

import (
	"fmt"

	"github.com/sealgate/sealgate/dkim"
)

// cmdDKIM is `sealgate dkim keygen --domain D --selector S [--algo A] [--dir DIR]`:
// it writes the private key (0600) and prints the DNS TXT record to publish.
func cmdDKIM(inv *invocation, io stdio) int {
	domain, selector, algo, dir := inv.flag("domain"), inv.flag("selector"), inv.flag("algo"), inv.flag("dir")
	if algo == "" {
		algo = "rsa"
	}
	if dir == "" {
		dir = "."
	}
	if domain == "" || selector == "" {
		fmt.Fprintf(io.err, "sealgate: dkim keygen needs --domain and --selector\nusage: %s\n", inv.cmd.usageLine())
		return 2
	}
	keyPath, txt, err := dkim.Keygen(domain, selector, algo, dir)
	if err != nil {
		return io.fail("dkim keygen: %v", err)
	}
	fmt.Fprintf(io.err, "private key written to %s; add to the config:\n  dkim:\n    - {domain: %s, selector: %s, key: %s}\npublish this DNS record:\n", keyPath, domain, selector, keyPath)
	fmt.Fprintln(io.out, txt)
	return 0
}
