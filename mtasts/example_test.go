package mtasts_test

import (
	"fmt"

	"github.com/sealgate/sealgate/mtasts"
)

func ExampleParsePolicy() {
	p, err := mtasts.ParsePolicy([]byte("version: STSv1\nmode: enforce\nmx: mail.example.org\nmx: *.example.net\nmax_age: 604800\n"))
	if err != nil {
		panic(err)
	}
	fmt.Println(p.Mode, p.MaxAge)
	for _, host := range []string{"mail.example.org", "mx1.example.net", "a.b.example.net"} {
		fmt.Println(host, p.Match(host))
	}
	// Output:
	// enforce 168h0m0s
	// mail.example.org true
	// mx1.example.net true
	// a.b.example.net false
}
