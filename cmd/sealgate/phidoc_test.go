package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// docPatterns returns the data-folder paths docs/phi-handling.md names,
// as globs relative to the data folder (each <placeholder> a *).
func docPatterns(t *testing.T) []string {
	t.Helper()
	doc := string(mustRead(t, "../../docs/phi-handling.md"))
	var out []string
	for _, m := range regexp.MustCompile("`<data_dir>/([^`]+)`").FindAllStringSubmatch(doc, -1) {
		glob := regexp.MustCompile(`<[^>]+>`).ReplaceAllString(m[1], "*")
		if !strings.Contains(strings.Join(out, "\n"), glob) {
			out = append(out, glob)
		}
	}
	return out
}

// conditionalFiles are documented files a short run does not make, with
// the package that makes them and the literal its code builds the name
// from: the test fails when that code no longer names them.
var conditionalFiles = map[string][2]string{
	"spool/quarantine/*.rec":        {"../../queue", `".rec"`},
	"spool/quarantine/*.seg-*.bad":  {"../../queue", `-%d.bad"`},
	"mta-sts/*.json":                {"../../mtasts", `".json"`},
	"tlsrpt/*.jsonl":                {"../../tlsrpt", `".jsonl"`},
	"tlsrpt/last-sent":              {".", `"tlsrpt", "last-sent"`},
	"audit.log":                     {".", `"audit.log"`},
	"webhooks/outbox.db":            {"../../webhook", `"outbox.db"`},
	"webhooks/outbox.db-wal":        {"../../webhook", `journal_mode(WAL)`},
	"webhooks/outbox.db-shm":        {"../../webhook", `journal_mode(WAL)`},
	"keys/bounces.key":              {"../../config", `"keys", "bounces.key"`},
	"suppressions-pending/*-*.json": {".", `"%d-%s.json"`},
}

// sourceHas reports whether a non-test Go file in dir contains literal.
func sourceHas(t *testing.T, dir, literal string) bool {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, f := range files {
		if !strings.HasSuffix(f, "_test.go") && strings.Contains(string(mustRead(t, f)), literal) {
			return true
		}
	}
	return false
}

// TestPHIHandlingNamesTheRealLayout runs the gateway until a PHI message
// waits in the pickup portal, then holds docs/phi-handling.md against the
// data folder: every file there must be named in the document, and every
// file the document names must be there, or, for files only some events
// make (quarantine, MTA-STS, TLS reports, the default audit log), still be
// made by the code. Regression: the document described a spool of *.msg
// and *.st files long after the spool became segment files.
func TestPHIHandlingNamesTheRealLayout(t *testing.T) {
	t.Parallel()
	patterns := docPatterns(t)
	if len(patterns) < 10 {
		t.Fatalf("the document names only %d data-folder paths: %q", len(patterns), patterns)
	}
	e := newProtEnv(t, nil, nil)
	e.portalNotice(t, "nobody@bad.example")
	seen := map[string]bool{}
	filepath.WalkDir(e.cfg.DataDir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(e.cfg.DataDir, p)
		documented := false
		for _, g := range patterns {
			if ok, _ := filepath.Match(g, rel); ok {
				documented, seen[g] = true, true
			}
		}
		if !documented {
			t.Errorf("the data folder holds %s, which docs/phi-handling.md does not name", rel)
		}
		return nil
	})
	for _, g := range patterns {
		if seen[g] {
			continue
		}
		c, ok := conditionalFiles[g]
		if !ok {
			t.Errorf("docs/phi-handling.md names <data_dir>/%s, but the gateway made no such file", g)
			continue
		}
		if !sourceHas(t, c[0], c[1]) {
			t.Errorf("docs/phi-handling.md names <data_dir>/%s, but %s no longer makes it (no %s)", g, c[0], c[1])
		}
	}
	for _, stale := range []string{"*.msg", "*.st"} {
		if strings.Contains(string(mustRead(t, "../../docs/phi-handling.md")), "spool/"+stale) {
			t.Errorf("docs/phi-handling.md still describes spool/%s", stale)
		}
	}
}
