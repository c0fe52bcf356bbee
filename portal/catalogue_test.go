package portal

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/sealgate/sealgate/internal/i18n"
)

// TestEveryStringInCatalogue: the templates hold no words of their own
// (all text comes from the catalogue or the configuration), and every
// key the templates and the code name is in every language.
func TestEveryStringInCatalogue(t *testing.T) {
	keyRE := regexp.MustCompile(`\.T "([a-z0-9.]+)"`)
	actionRE := regexp.MustCompile(`(?s)\{\{.*?\}\}`)
	tagRE := regexp.MustCompile(`(?s)<[^>]*>`)
	wordRE := regexp.MustCompile(`\pL{2,}`)
	entries, err := assets.ReadDir("templates")
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for _, e := range entries {
		data, _ := assets.ReadFile("templates/" + e.Name())
		for _, m := range keyRE.FindAllStringSubmatch(string(data), -1) {
			keys[m[1]] = true
		}
		rest := tagRE.ReplaceAllString(actionRE.ReplaceAllString(string(data), ""), "")
		if w := wordRE.FindAllString(rest, -1); len(w) > 0 {
			t.Errorf("templates/%s has text outside the catalogue: %v", e.Name(), w)
		}
	}
	// Keys in the Go code: info pages (key.title and key.text) and T calls.
	infoRE := regexp.MustCompile(`pages\.info\([^"]*"([a-z.]+)"`)
	tRE := regexp.MustCompile(`\.T\("([a-z0-9.]+)"`)
	files, _ := os.ReadDir(".")
	for _, f := range files {
		if !strings.HasSuffix(f.Name(), ".go") || strings.HasSuffix(f.Name(), "_test.go") {
			continue
		}
		data, err := os.ReadFile(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range infoRE.FindAllStringSubmatch(string(data), -1) {
			keys[m[1]+".title"], keys[m[1]+".text"] = true, true
		}
		for _, m := range tRE.FindAllStringSubmatch(string(data), -1) {
			keys[m[1]] = true
		}
	}
	if len(keys) < 60 {
		t.Fatalf("found only %d keys; the scan is broken", len(keys))
	}
	for _, code := range i18n.Codes() {
		for k := range keys {
			if !i18n.Get(code).Has(k) {
				t.Errorf("%s lacks %s", code, k)
			}
		}
	}
}
