package detect

// This file holds the pure validation rules of the structured identifiers. Each function
// takes the candidate's characters without separators and answers whether the value can
// be real; none of them looks at context.

// ValidSSN reports whether nine digits can be a US Social Security number under the
// SSA's published rules: area not 000, 666 or 900-999; group not 00; serial not 0000.
func ValidSSN(d string) bool {
	if len(d) != 9 || !allDigits(d) {
		return false
	}
	area := atoi(d[0:3])
	if area == 0 || area == 666 || area >= 900 {
		return false
	}
	return d[3:5] != "00" && d[5:9] != "0000"
}

// ValidMBI reports whether eleven characters follow the CMS Medicare Beneficiary
// Identifier format: C A AN N A AN N A A N N, where C is 1-9, N is 0-9 and A is an
// upper-case letter other than S, L, O, I, B and Z.
func ValidMBI(s string) bool {
	if len(s) != 11 {
		return false
	}
	const layout = "CAXNAXNAANN"
	for i := 0; i < 11; i++ {
		c := upper(s[i])
		switch layout[i] {
		case 'C':
			if c < '1' || c > '9' {
				return false
			}
		case 'N':
			if !isDigit(c) {
				return false
			}
		case 'A':
			if !mbiLetter(c) {
				return false
			}
		case 'X':
			if !isDigit(c) && !mbiLetter(c) {
				return false
			}
		}
	}
	return true
}

func mbiLetter(c byte) bool {
	if c < 'A' || c > 'Z' {
		return false
	}
	switch c {
	case 'S', 'L', 'O', 'I', 'B', 'Z':
		return false
	}
	return true
}

// Luhn reports whether a digit string passes the Luhn (mod 10) check.
func Luhn(d string) bool {
	if len(d) < 2 || !allDigits(d) {
		return false
	}
	sum := 0
	double := false
	for i := len(d) - 1; i >= 0; i-- {
		n := int(d[i] - '0')
		if double {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
		double = !double
	}
	return sum%10 == 0
}

// ValidNPI reports whether ten digits are a National Provider Identifier: the first digit
// is 1 or 2 and the Luhn check over "80840" followed by the number holds (CMS NPI
// check-digit rule, ISO 7812 prefix 80840).
func ValidNPI(d string) bool {
	if len(d) != 10 || (d[0] != '1' && d[0] != '2') {
		return false
	}
	return Luhn("80840" + d)
}

// ValidCard reports whether 13-19 digits can be a payment card number: the Luhn check
// holds and the issuer prefix (IIN) belongs to a major card network.
func ValidCard(d string) bool {
	n := len(d)
	if n < 13 || n > 19 || !Luhn(d) {
		return false
	}
	p2, p4 := atoi(d[:2]), atoi(d[:4])
	switch {
	case d[0] == '4': // Visa
		return n == 13 || n == 16 || n == 19
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720: // Mastercard
		return n == 16
	case p2 == 34 || p2 == 37: // American Express
		return n == 15
	case p4 == 6011 || p2 == 65 || (p4 >= 6440 && p4 <= 6499): // Discover
		return n >= 16
	case p4 >= 3528 && p4 <= 3589: // JCB
		return n >= 16
	case p2 == 36 || p2 == 38 || (p4 >= 3000 && p4 <= 3059): // Diners Club
		return n >= 14
	}
	return false
}

// ValidDEA reports whether nine characters are a DEA registration number: two letters
// (the first a registrant type) and seven digits whose last is the check digit
// (d1+d3+d5 + 2*(d2+d4+d6)) mod 10.
func ValidDEA(s string) bool {
	if len(s) != 9 {
		return false
	}
	switch upper(s[0]) {
	case 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'J', 'K', 'L', 'M', 'P', 'R', 'S', 'T', 'U', 'X':
	default:
		return false
	}
	c := upper(s[1])
	if (c < 'A' || c > 'Z') && c != '9' {
		return false
	}
	d := s[2:]
	if !allDigits(d) {
		return false
	}
	v := func(i int) int { return int(d[i] - '0') }
	sum := v(0) + v(2) + v(4) + 2*(v(1)+v(3)+v(5))
	return sum%10 == v(6)
}

// ValidICD10CM reports whether a code has the structure of an ICD-10-CM code: a letter,
// a digit, a digit or letter, then optionally a dot and one to four characters. The
// letter U is reserved except for U07 (emergency use). It says nothing about whether the
// code is in the current code set; callers require clinical context as well.
func ValidICD10CM(s string) bool {
	n := len(s)
	if n < 3 || n > 8 {
		return false
	}
	c0 := upper(s[0])
	if c0 < 'A' || c0 > 'Z' || !isDigit(s[1]) {
		return false
	}
	if c0 == 'U' && s[1:3] != "07" {
		return false
	}
	if !isDigit(s[2]) && upper(s[2]) != 'A' && upper(s[2]) != 'B' {
		return false
	}
	if n == 3 {
		return true
	}
	if s[3] != '.' || n == 4 {
		return false
	}
	for i := 4; i < n; i++ {
		c := upper(s[i])
		if !isDigit(c) && (c < 'A' || c > 'Z') {
			return false
		}
	}
	return true
}

// ValidNDC reports whether dash-separated digit groups form an FDA National Drug Code in
// one of its three 10-digit layouts (4-4-2, 5-3-2, 5-4-1) or the 11-digit 5-4-2 billing
// layout.
func ValidNDC(groups []int) bool {
	if len(groups) != 3 {
		return false
	}
	a, b, c := groups[0], groups[1], groups[2]
	return (a == 4 && b == 4 && c == 2) || (a == 5 && b == 3 && c == 2) ||
		(a == 5 && b == 4 && c == 1) || (a == 5 && b == 4 && c == 2)
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 32
	}
	return c
}
