package main

import (
	"fmt"

	"github.com/sealgate/sealgate/dkim"
)

// cmdDKIM is `sealgate dkim keygen --domain D --selector S [--algo A] [--dir DIR]`:
// it writes the private key (0600) and prints the DNS TXT record to publish.
func cmdDKIM(args []string, io stdio) int {
	if len(args) == 0 || args[0] != "keygen" {
		return io.fail("usage: sealgate dkim keygen --domain D --selector S [--algo rsa|ed25519] [--dir DIR]")
	}
	fl := newFlags("dkim keygen", io)
	domain := fl.String("domain", "", "signing domain (d=)")
	selector := fl.String("selector", "", "selector (s=)")
	algo := fl.String("algo", "rsa", "rsa (2048), rsa3072, rsa4096 or ed25519")
	dir := fl.String("dir", ".", "folder for the key file")
	if err := fl.Parse(args[1:]); err != nil {
		return 2
	}
	if *domain == "" || *selector == "" {
		return io.fail("dkim keygen needs --domain and --selector")
	}
	keyPath, txt, err := dkim.Keygen(*domain, *selector, *algo, *dir)
	if err != nil {
		return io.fail("dkim keygen: %v", err)
	}
	fmt.Fprintf(io.err, "private key written to %s; add to the config:\n  dkim:\n    - {domain: %s, selector: %s, key: %s}\npublish this DNS record:\n", keyPath, *domain, *selector, keyPath)
	fmt.Fprintln(io.out, txt)
	return 0
}
