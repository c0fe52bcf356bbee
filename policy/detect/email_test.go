package detect

import "testing"

// TestPersonalEmailAddresses: an address at a public mailbox provider is a personal
// contact detail wherever it stands; an organisation's address is not.
func TestPersonalEmailAddresses(t *testing.T) {
	for text, want := range map[string]int{
		"Account tied to priya.venkataraman.home@outlook.com cannot log in.": 1,
		"Ask jcarrow77@gmail.com.":                                         1,
		"results for d_whit+labs@yahoo.co.uk and mo.h@proton.me":           2,
		"write to help@clinic.example or billing@outlook-partners.example": 0,
		"meet at noon @ the cafe; see @gmail.com":                          0,
		"lee@live.com.example is not live.com":                             0,
	} {
		var spans [][2]int
		got := scanText(t, text, &Options{Trace: func(id ID, s, e int) {
			if id == Contact {
				spans = append(spans, [2]int{s, e})
			}
		}})
		if int(got[Contact]) != want || len(spans) != want {
			t.Errorf("%q: %d personal contacts (%v), want %d", text, got[Contact], spans, want)
		}
		for _, sp := range spans {
			if text[sp[1]-1] == '.' || text[sp[0]] == ' ' {
				t.Errorf("%q: span %q", text, text[sp[0]:sp[1]])
			}
		}
	}
}
