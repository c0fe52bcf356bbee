package addr_test

import (
	"errors"
	"fmt"

	"github.com/sealgate/sealgate/addr"
)

func ExampleParse() {
	a, err := addr.Parse("Jane.Doe@Example.ORG", addr.Options{})
	fmt.Println(a, err)

	_, err = addr.Parse("user%evil.test@gw.example.org", addr.Options{})
	fmt.Println(errors.Is(err, addr.ErrRouting), errors.Is(err, addr.ErrSyntax))

	_, err = addr.Parse("jürgen@example.org", addr.Options{})
	fmt.Println(errors.Is(err, addr.ErrNonASCII))
	// Output:
	// Jane.Doe@example.org <nil>
	// true true
	// true
}

func ExampleMatchGlob() {
	a, _ := addr.Parse("billing@news.example-clinic.org", addr.Options{})
	fmt.Println(addr.MatchGlob("*@*.example-clinic.org", a))
	fmt.Println(addr.MatchGlob("*@example-clinic.org", a))
	// Output:
	// true
	// false
}
