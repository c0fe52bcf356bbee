package addr

import "unicode"

// allowedScriptSets returns the script combinations that UTS #39 §5.2
// "Highly Restrictive" allows in one label besides a single script.
func allowedScriptSets() [][]string {
	return [][]string{
		{"Latin", "Han", "Hiragana", "Katakana"},
		{"Latin", "Han", "Bopomofo"},
		{"Latin", "Han", "Hangul"},
	}
}

// mixedScript reports whether label mixes scripts beyond what UTS #39
// "highly restrictive" allows. Common and Inherited characters (digits,
// hyphen, combining marks) belong to every script.
func mixedScript(label string) bool {
	seen := map[string]bool{}
	for _, r := range label {
		if s := scriptOf(r); s != "" {
			seen[s] = true
		}
	}
	if len(seen) <= 1 {
		return false
	}
	for _, set := range allowedScriptSets() {
		if subset(seen, set) {
			return false
		}
	}
	return true
}

// scriptOf returns the Unicode script of r, or "" for Common and Inherited.
func scriptOf(r rune) string {
	if r < 0x80 {
		if unicode.IsLetter(r) {
			return "Latin"
		}
		return ""
	}
	for name, table := range unicode.Scripts {
		if name != "Common" && name != "Inherited" && unicode.Is(table, r) {
			return name
		}
	}
	return ""
}

func subset(seen map[string]bool, set []string) bool {
	n := 0
	for _, s := range set {
		if seen[s] {
			n++
		}
	}
	return n == len(seen)
}
