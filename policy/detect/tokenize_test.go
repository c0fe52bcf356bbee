package detect

import (
	"strings"
	"testing"
)

// wantTok is a token as TestTokenize expects it: its text as written, kind, gap and flags.
type wantTok struct {
	text  string
	kind  uint8
	gap   uint8
	flags uint8
}

// TestTokenize reads text whose words end in every way the tokenizer tells apart: an
// apostrophe between letters or not, one space or more, a tab, a line break, a UTF-8
// letter, inner capitals, digits, and the end of the segment (with fewer than eight bytes
// left and with more). Every word's hash is FNV-1a of its lower-cased bytes, which are
// also what low holds at its offsets.
func TestTokenize(t *testing.T) {
	w, n, p := tkWord, tkNum, tkPunct
	cases := []struct {
		in   string
		want []wantTok
	}{
		{"Dear Mrs. O'Brien,\n  don't\tpatients' MRN 12ab  McDonald Müller x", []wantTok{
			{"Dear", w, gapLine, fCap | fAlpha},
			{"Mrs", w, gapSpace, fCap | fAlpha},
			{".", p, gapNone, 0},
			{"O'Brien", w, gapSpace, fCap | fAlpha},
			{",", p, gapNone, 0},
			{"don't", w, gapLine, fAlpha},
			{"patients", w, gapSpace, fAlpha},
			{"'", p, gapNone, 0},
			{"MRN", w, gapSpace, fUpper | fAlpha},
			{"12ab", w, gapSpace, fDigit | fAlpha},
			{"McDonald", w, gapSpace, fCap | fAlpha},
			{"Müller", w, gapSpace, fCap | fAlpha},
			{"x", w, gapSpace, fAlpha},
		}},
		{"it' 4471-22 HbA1c", []wantTok{
			{"it", w, gapLine, fAlpha},
			{"'", p, gapNone, 0},
			{"4471", n, gapSpace, fDigit},
			{"-", p, gapNone, 0},
			{"22", n, gapNone, fDigit},
			{"HbA1c", w, gapSpace, fDigit | fAlpha},
		}},
		{"Hemoglobinopathies Rock'n'roll café", []wantTok{
			{"Hemoglobinopathies", w, gapLine, fCap | fAlpha},
			{"Rock'n'roll", w, gapSpace, fCap | fAlpha},
			{"café", w, gapSpace, fAlpha},
		}},
	}
	for _, c := range cases {
		seg := []byte(c.in)
		low := make([]byte, len(seg))
		toks, _ := tokenize(seg, low, nil)
		if len(toks) != len(c.want) {
			t.Errorf("%q: %d tokens, want %d", c.in, len(toks), len(c.want))
			continue
		}
		for i, tk := range toks {
			want := c.want[i]
			text := string(seg[tk.s:tk.e])
			if text != want.text || tk.kind != want.kind || tk.gap != want.gap || tk.flags != want.flags {
				t.Errorf("%q token %d: %q kind %d gap %d flags %04b, want %q kind %d gap %d flags %04b",
					c.in, i, text, tk.kind, tk.gap, tk.flags, want.text, want.kind, want.gap, want.flags)
				continue
			}
			lower := strings.ToLower(want.text)
			if got := string(low[tk.s:tk.e]); got != lower {
				t.Errorf("%q token %d: low %q, want %q", c.in, i, got, lower)
			}
			if tk.kind != tkPunct && tk.h != fnv32([]byte(lower)) {
				t.Errorf("%q token %d: hash %#x, want FNV-1a of %q %#x", c.in, i, tk.h, lower, fnv32([]byte(lower)))
			}
		}
	}
}
