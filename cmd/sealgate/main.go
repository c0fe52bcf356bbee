// Command sealgate is a zero-trust outbound SMTP gateway for healthcare.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "sealgate: not yet wired")
	os.Exit(2)
}
