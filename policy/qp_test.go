package policy

import (
	"io"
	"mime/quotedprintable"
	"strings"
	"testing"
)

func TestDecodeQP(t *testing.T) {
	cases := []struct{ in, want string }{
		{"caf=C3=A9", "café"},
		{"soft=\r\nbreak", "softbreak"},
		{"soft=\nbreak", "softbreak"},
		{"trailing space   \r\nnext", "trailing space\r\nnext"},
		{"keep = sign and =ZZ", "keep = sign and =ZZ"},
		{"end=", "end"},
		{"lower=c3=a9", "loweré"},
	}
	for _, tc := range cases {
		if got := string(decodeQP([]byte(tc.in))); got != tc.want {
			t.Errorf("decodeQP(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestDecodeQPMatchesStandardLibrary compares with mime/quotedprintable on valid input.
func TestDecodeQPMatchesStandardLibrary(t *testing.T) {
	in := "Hand-off for the overnight team about this gentleman: Gaspard, born October 29, 1949, a=\r\ndmitted with =C2=BFPreguntas? =3D ok\r\nline two\r\n"
	std, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(in)))
	if err != nil {
		t.Fatal(err)
	}
	if got := decodeQP([]byte(in)); string(got) != string(std) {
		t.Errorf("decodeQP = %q, standard library = %q", got, std)
	}
}
