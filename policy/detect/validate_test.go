package detect

import "testing"

func TestValidators(t *testing.T) {
	cases := []struct {
		name string
		fn   func(string) bool
		in   string
		want bool
	}{
		{"ssn valid", ValidSSN, "692552407", true},
		{"ssn area 000", ValidSSN, "000552407", false},
		{"ssn area 666", ValidSSN, "666656213", false},
		{"ssn area 9xx", ValidSSN, "974429528", false},
		{"ssn group 00", ValidSSN, "541008440", false},
		{"ssn serial 0000", ValidSSN, "541120000", false},
		{"ssn too short", ValidSSN, "54112000", false},
		{"mbi valid", ValidMBI, "6QV3AM6VN53", true},
		{"mbi lower case", ValidMBI, "1eg4te5mk73", true},
		{"mbi excluded letter B", ValidMBI, "3B57Z27BE35", false},
		{"mbi leading zero", ValidMBI, "0QV3AM6VN53", false},
		{"mbi digit where letter", ValidMBI, "6QV3AM6V153", false},
		{"npi valid", ValidNPI, "1514112907", true},
		{"npi check digit off", ValidNPI, "1514112908", false},
		{"npi bad first digit", ValidNPI, "3514112907", false},
		{"card visa", ValidCard, "4111111111111111", true},
		{"card amex", ValidCard, "378282246310005", true},
		{"card luhn fails", ValidCard, "4140302632663911", false},
		{"card luhn ok unknown iin", ValidCard, "9111111111111117", false},
		{"dea valid", ValidDEA, "AB1234563", true},
		{"dea check digit off", ValidDEA, "AB1234564", false},
		{"dea bad registrant", ValidDEA, "QB1234563", false},
		{"icd with decimals", ValidICD10CM, "G47.33", true},
		{"icd category", ValidICD10CM, "I10", true},
		{"icd 7 chars", ValidICD10CM, "S72.001A", true},
		{"icd U not U07", ValidICD10CM, "U12.3", false},
		{"icd no dot", ValidICD10CM, "G4733", false},
		{"icd bad second char", ValidICD10CM, "GA7.3", false},
	}
	for _, tc := range cases {
		if got := tc.fn(tc.in); got != tc.want {
			t.Errorf("%s: %q -> %v, want %v", tc.name, tc.in, got, tc.want)
		}
	}
}

func TestValidNDC(t *testing.T) {
	for _, g := range [][]int{{4, 4, 2}, {5, 3, 2}, {5, 4, 1}, {5, 4, 2}} {
		if !ValidNDC(g) {
			t.Errorf("%v should be an NDC layout", g)
		}
	}
	for _, g := range [][]int{{3, 2, 4}, {3, 3, 4}, {5, 4}} {
		if ValidNDC(g) {
			t.Errorf("%v should not be an NDC layout", g)
		}
	}
}
