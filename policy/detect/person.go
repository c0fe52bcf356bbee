package detect

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// PersonName returns the lower-case words of a display name ("Wren Prendergast",
// "Tolliver, Anouk") when it looks like a person's name: two to four capitalised words,
// none of them an organisation, role or common word. Otherwise it returns nil.
func (a *Analyzer) PersonName(display string) []string {
	words := strings.FieldsFunc(display, func(r rune) bool {
		return r == ' ' || r == ',' || r == '"' || r == '\'' || r == '(' || r == ')'
	})
	if len(words) < 2 || len(words) > 4 {
		return nil
	}
	out := make([]string, 0, len(words))
	for _, w := range words {
		w = strings.TrimSuffix(w, ".")
		r, _ := utf8.DecodeRuneInString(w)
		if w == "" || !unicode.IsUpper(r) || !lettersOnly(w) {
			return nil
		}
		lw := strings.ToLower(w)
		if e := a.v.words[lw]; a.v.notName[lw] || (e != nil && e.cl != 0) {
			return nil
		}
		if len(lw) > 1 {
			out = append(out, lw)
		}
	}
	return out
}

func lettersOnly(w string) bool {
	for _, r := range w {
		if !unicode.IsLetter(r) && r != '-' {
			return false
		}
	}
	return true
}

// OrgName reports whether a display name names an organisation or place: one of its
// words is an organisation word ("Mercy Vale General Hospital", "Redwood Apothecary").
func (a *Analyzer) OrgName(display string) bool {
	for _, w := range strings.FieldsFunc(strings.ToLower(display), func(r rune) bool { return !unicode.IsLetter(r) }) {
		if a.v.org[w] {
			return true
		}
	}
	return false
}
