package addr

import "strings"

// HostName reports whether s is a host or domain name as sealgate's
// configuration, key file names and cache file names take it: dot-
// separated labels of 1 to 63 letters, digits, hyphens and underscores
// (DKIM selectors and service names use them), no label starting or
// ending with a hyphen, 253 characters at most, one trailing dot allowed.
// Such a name is also safe as a file name: no slash, no empty label, so
// never "." or "..". It does not check IDNA: a U-label is refused (see
// Domain for that).
func HostName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				return false
			}
		}
	}
	return true
}
