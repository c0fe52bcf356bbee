package extract

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func wrapped(data []byte, width int) string {
	enc := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	for width > 0 && len(enc) > width {
		b.WriteString(enc[:width] + "\n")
		enc = enc[width:]
	}
	return b.String() + enc + "\n"
}

// TestBase64Blobs: the blobs found in a text and what they decode to, by the
// thresholds: 4 whole lines of 60 or more, or one run of 256 or more.
func TestBase64Blobs(t *testing.T) {
	file := []byte(strings.Repeat("item,quantity\npaper,12\n", 12)) // 276 bytes: 368 characters
	for _, tc := range []struct {
		name, text string
		want       int
	}{
		{"wrapped 76", "Here:\n" + wrapped(file, 76) + "Thanks", 1},
		{"wrapped 64 CRLF", strings.ReplaceAll("Here:\n"+wrapped(file, 64), "\n", "\r\n"), 1},
		{"one line in a sentence", "data " + strings.TrimSpace(wrapped(file, 0)) + " end", 1},
		{"two files", wrapped(file, 76) + "\nand\n" + wrapped(file, 76), 2},
		{"three long lines", wrapped(file[:170], 60), 0},
		{"run of 255", strings.Repeat("A", 255), 0},
		{"indented lines", strings.ReplaceAll("\n"+wrapped(file, 76), "\n", "\n\t"), 0},
		{"pgp armor", "-----BEGIN PGP MESSAGE-----\n\n" + wrapped(file, 64) + "-----END PGP MESSAGE-----\n", 0},
	} {
		blobs := Base64Blobs([]byte(tc.text), 1<<20)
		if len(blobs) != tc.want {
			t.Errorf("%s: %d blobs, want %d", tc.name, len(blobs), tc.want)
			continue
		}
		for _, b := range blobs {
			if b.Err != nil || string(b.Data) != string(file) {
				t.Errorf("%s: decoded %q, %v; want the file", tc.name, b.Data, b.Err)
			}
		}
	}
	if b := Base64Blobs([]byte(wrapped(file, 76)), 100); len(b) != 1 || !errors.Is(b[0].Err, ErrTooLarge) {
		t.Errorf("past the limit: %+v, want ErrTooLarge", b)
	}
	bad := wrapped(file, 76)
	bad = bad[:90] + "=" + bad[91:]
	if b := Base64Blobs([]byte(bad), 1<<20); len(b) != 1 || !errors.Is(b[0].Err, ErrBase64) {
		t.Errorf("padding inside: %+v, want ErrBase64", b)
	}
}

// BenchmarkBase64BlobsProse is the search for pasted base64 over 1 MB of prose with no
// blob: what every text/plain part pays.
func BenchmarkBase64BlobsProse(b *testing.B) {
	prose := []byte(strings.Repeat("Please send the revised budget by Friday, 10/14, and copy Priya on the vendor contract (ref 4471-22). ", 1<<20/100))
	b.SetBytes(int64(len(prose)))
	for b.Loop() {
		if Base64Blobs(prose, 1<<20) != nil || BinHex(prose) {
			b.Fatal("found a blob in prose")
		}
	}
}
