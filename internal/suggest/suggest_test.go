package suggest

import "testing"

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "", 3}, {"", "ab", 2}, {"kitten", "sitting", 3},
		{"hostname", "hostnme", 1}, {"listen", "silent", 4}, {"data_dir", "data_dir", 0},
	} {
		if got := Distance(tc.a, tc.b); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := Distance(tc.b, tc.a); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d, want %d (symmetric)", tc.b, tc.a, got, tc.want)
		}
	}
}

func TestClosest(t *testing.T) {
	keys := []string{"hostname", "data_dir", "listeners", "clients", "portal"}
	for _, tc := range []struct{ word, want string }{
		{"hostnme", "hostname"},
		{"listener", "listeners"},
		{"datadir", "data_dir"},
		{"portl", "portal"},
		{"zzz", ""},            // nothing near
		{"metrics", ""},        // a real word, but not one of these
		{"client", "clients"},  // one edit
		{"xlients", "clients"}, // one substitution
	} {
		if got := Closest(tc.word, keys); got != tc.want {
			t.Errorf("Closest(%q) = %q, want %q", tc.word, got, tc.want)
		}
	}
}
