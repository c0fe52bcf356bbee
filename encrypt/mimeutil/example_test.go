package mimeutil_test

import (
	"fmt"
	"strings"

	"github.com/sealgate/sealgate/encrypt/mimeutil"
)

func ExampleProtect() {
	msg := "From: doctor@example-clinic.org\r\n" +
		"To: patient@example.net\r\n" +
		"Subject: Your biopsy results\r\n" +
		"X-EHR-Patient: 12345\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"\r\n" +
		"Benign.\r\n"
	p, err := mimeutil.Protect([]byte(msg), "")
	if err != nil {
		fmt.Println(err)
		return
	}
	outer := p.Message([]string{"Content-Type: application/pkcs7-mime"}, []byte("...\r\n"))
	// Both use CRLF line endings; shown here with LF.
	fmt.Printf("inner (to encrypt):\n%s", strings.ReplaceAll(string(p.Inner), "\r\n", "\n"))
	fmt.Printf("outer (in the clear):\n%s", strings.ReplaceAll(string(outer), "\r\n", "\n"))
	// Output:
	// inner (to encrypt):
	// From: doctor@example-clinic.org
	// To: patient@example.net
	// Subject: Your biopsy results
	// Content-Type: text/plain; charset=utf-8; protected-headers="v1"
	//
	// Benign.
	// outer (in the clear):
	// From: doctor@example-clinic.org
	// To: patient@example.net
	// Subject: Secure message
	// MIME-Version: 1.0
	// Content-Type: application/pkcs7-mime
	//
	// ...
}
