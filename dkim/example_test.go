package dkim_test

import (
	"crypto/ed25519"
	"fmt"

	"github.com/sealgate/sealgate/dkim"
)

func ExampleRecordValue() {
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	rec, err := dkim.RecordValue(key.Public())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("s2026._domainkey.example-clinic.org. IN TXT \"" + rec + "\"")
	// Output:
	// s2026._domainkey.example-clinic.org. IN TXT "v=DKIM1; k=ed25519; p=O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik="
}
