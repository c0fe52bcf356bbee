package mimeutil

import "strings"

// NormalizeAddr lower-cases the domain of addr, keeping the local part as
// is, so that keys and certificates are matched with a case-insensitive
// domain and an exact local part. It reports false for something that is
// not local@domain.
func NormalizeAddr(addr string) (string, bool) {
	addr = strings.TrimSpace(addr)
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 || strings.ContainsAny(addr, " <>\r\n") {
		return "", false
	}
	return addr[:at+1] + strings.ToLower(addr[at+1:]), true
}
