package delivery_test

import (
	"fmt"

	"github.com/sealgate/sealgate/delivery"
)

// The levels of delivery.tls.policy, weakest first.
func ExampleParseTLSPolicy() {
	for _, name := range []string{"may", "verify", "dane-only"} {
		p, err := delivery.ParseTLSPolicy(name)
		fmt.Println(p, int(p), err)
	}
	_, err := delivery.ParseTLSPolicy("strict")
	fmt.Println(err)
	// Output:
	// may 1 <nil>
	// verify 3 <nil>
	// dane-only 5 <nil>
	// delivery: unknown TLS policy "strict"
}
