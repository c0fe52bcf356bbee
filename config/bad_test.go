package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadConfigs runs every file in testdata/bad. Each ends with one
// "# want: file:line: key: message" comment per error it must produce,
// and must produce no others.
func TestBadConfigs(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil || len(files) < 40 {
		t.Fatalf("found %d bad configs (%v)", len(files), err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			wants := wantedErrors(t, data)
			// Errors name the file as given; test with the bare name.
			got := checkConfig(filepath.Base(path), data)
			if got == nil {
				t.Fatalf("no error; want:\n%s", strings.Join(wants, "\n"))
			}
			var es Errors
			if !errors.As(got, &es) {
				t.Fatalf("error %T is not config.Errors", got)
			}
			lines := strings.Split(got.Error(), "\n")
			if len(lines) != len(wants) || len(es) != len(wants) {
				t.Errorf("got %d errors, want %d:\n%v", len(lines), len(wants), got)
			}
			for _, w := range wants {
				if !strings.Contains(got.Error(), w) {
					t.Errorf("missing error %q in:\n%v", w, got)
				}
			}
		})
	}
}

// wantedErrors returns the "# want:" lines of a test config.
func wantedErrors(t *testing.T, data []byte) []string {
	t.Helper()
	var wants []string
	for _, line := range strings.Split(string(data), "\n") {
		if w, ok := strings.CutPrefix(line, "# want: "); ok {
			wants = append(wants, w)
		}
	}
	if len(wants) == 0 {
		t.Fatal("test config has no # want: line")
	}
	return wants
}

// checkConfig decodes and validates in one pass without touching the
// files named.
func checkConfig(name string, data []byte) error {
	_, err := ParseWith(name, data, Options{SkipFileChecks: true})
	return err
}
