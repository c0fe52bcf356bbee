package detect

import (
	"bytes"
	"strings"
)

// freeMailBrands are the names of public mailbox providers, under any top-level domain
// ("gmail.com", "yahoo.co.uk", "outlook.de"): an address there belongs to a person, not
// to an organisation.
var freeMailBrands = map[string]bool{
	"gmail": true, "googlemail": true, "yahoo": true, "ymail": true, "hotmail": true, "outlook": true,
	"icloud": true, "aol": true, "gmx": true, "protonmail": true, "yandex": true, "fastmail": true,
	"sbcglobal": true, "earthlink": true, "comcast": true, "btinternet": true,
}

// freeMailDomains are providers whose name alone is too common a word to match under
// any top-level domain.
var freeMailDomains = map[string]bool{
	"live.com": true, "msn.com": true, "me.com": true, "mac.com": true, "proton.me": true, "mail.com": true,
	"zoho.com": true, "att.net": true, "verizon.net": true, "cox.net": true, "charter.net": true,
	"web.de": true, "t-online.de": true, "orange.fr": true, "free.fr": true, "qq.com": true, "163.com": true,
	"126.com": true, "hey.com": true,
}

// scanEmails counts personal e-mail addresses in text as personal contact details: an
// address at a public mailbox provider identifies one person as a phone number does
// (HIPAA's identifiers include e-mail addresses), so a patient named by nothing else
// is still identified.
func scanEmails(text []byte, opt *Options, out *Counts) {
	for off := 0; ; {
		k := bytes.IndexByte(text[off:], '@')
		if k < 0 {
			return
		}
		at := off + k
		off = at + 1
		start := at
		for start > 0 && emailLocalByte(text[start-1]) {
			start--
		}
		end := off
		for end < len(text) && (isAlnum(text[end]) || text[end] == '.' || text[end] == '-') {
			end++
		}
		for end > off && text[end-1] == '.' {
			end-- // the full stop that ends a sentence
		}
		if start == at || !freeMail(text[off:end]) {
			continue
		}
		out[Contact]++
		if opt.Trace != nil {
			opt.Trace(Contact, start, end)
		}
		off = end
	}
}

// freeMail reports whether domain is a public mailbox provider's.
func freeMail(domain []byte) bool {
	d := strings.ToLower(string(domain))
	if freeMailDomains[d] {
		return true
	}
	brand, rest, ok := strings.Cut(d, ".")
	return ok && rest != "" && freeMailBrands[brand]
}

func emailLocalByte(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '+' || c == '-'
}
