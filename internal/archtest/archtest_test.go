package archtest

import (
	"bufio"
	"fmt"
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/sealgate/sealgate"

// rule is one row of the "Forbidden imports" table.
type rule struct {
	from, forbidden, why string
	except               []string // patterns the rule leaves allowed: "`...` except `x`, `y`"
}

// match reports whether the module-relative package path pkg matches a
// pattern: "x" is x alone, "x/..." is x and everything below, "..." is all.
func match(pattern, pkg string) bool {
	if pattern == "..." {
		return true
	}
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return pkg == base || strings.HasPrefix(pkg, base+"/")
	}
	return pkg == pattern
}

// violations lists, sorted, every import in graph (package → its imports,
// both module-relative) that a rule forbids.
func violations(rules []rule, graph map[string][]string) []string {
	var out []string
	for pkg, imports := range graph {
		for _, imp := range imports {
			if imp == pkg {
				continue
			}
			for _, r := range rules {
				if match(r.from, pkg) && match(r.forbidden, imp) && !excepted(r, imp) {
					out = append(out, fmt.Sprintf("%s imports %s: %s", pkg, imp, r.why))
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// excepted reports whether the rule leaves imp allowed.
func excepted(r rule, imp string) bool {
	for _, e := range r.except {
		if match(e, imp) {
			return true
		}
	}
	return false
}

// readRules parses the table under "## Forbidden imports" in the document.
func readRules(path string) ([]rule, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rules []rule
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "## ") {
			in = line == "## Forbidden imports"
			continue
		}
		if !in || !strings.HasPrefix(line, "|") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 3 {
			return nil, fmt.Errorf("%s: table row without three cells: %q", path, line)
		}
		from := strings.Trim(strings.TrimSpace(cells[0]), "`")
		forb, exc, _ := strings.Cut(strings.TrimSpace(cells[1]), " except ")
		forb = strings.Trim(forb, "`")
		var except []string
		for _, e := range strings.Split(exc, ",") {
			if e = strings.Trim(strings.TrimSpace(e), "`"); e != "" {
				except = append(except, e)
			}
		}
		if from == "from" || strings.HasPrefix(from, "---") {
			continue // header and separator
		}
		rules = append(rules, rule{from: from, forbidden: forb, why: strings.TrimSpace(cells[2]), except: except})
	}
	return rules, sc.Err()
}

// moduleRoot is the directory holding go.mod, two levels up from here.
func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found: %v", err)
	}
	return root
}

// importGraph lists every package of the module and its non-test imports
// inside the module, all as module-relative paths.
func importGraph(t *testing.T, root string) map[string][]string {
	t.Helper()
	graph := map[string][]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		name := d.Name()
		if path != root && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
			return filepath.SkipDir
		}
		p, err := build.Default.ImportDir(path, 0)
		if _, none := err.(*build.NoGoError); none {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		var imports []string
		for _, imp := range p.Imports {
			if r, ok := strings.CutPrefix(imp, module+"/"); ok {
				imports = append(imports, r)
			}
		}
		graph[rel] = imports
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return graph
}

// TestForbiddenImports fails for every import that the table in
// docs/architecture.md forbids.
func TestForbiddenImports(t *testing.T) {
	root := moduleRoot(t)
	rules, err := readRules(filepath.Join(root, "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) < 20 {
		t.Fatalf("read %d rules from docs/architecture.md; the table is missing or was not parsed", len(rules))
	}
	graph := importGraph(t, root)
	for _, must := range []string{"queue", "smtpd", "policy", "encrypt", "delivery", "portal", "cmd/sealgate"} {
		if _, ok := graph[must]; !ok {
			t.Fatalf("package %s not found in the module walk; the graph is incomplete", must)
		}
	}
	for _, v := range violations(rules, graph) {
		t.Error(v)
	}
}

// TestRulesName checks that every pattern in the table names packages that
// exist, so a rule cannot silently guard nothing after a rename.
func TestRulesName(t *testing.T) {
	root := moduleRoot(t)
	rules, err := readRules(filepath.Join(root, "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	graph := importGraph(t, root)
	for _, r := range rules {
		for _, pat := range append([]string{r.from, r.forbidden}, r.except...) {
			found := false
			for pkg := range graph {
				if match(pat, pkg) {
					found = true
					break
				}
			}
			if !found {
				t.Errorf("rule %q ↛ %q: pattern %q matches no package", r.from, r.forbidden, pat)
			}
		}
	}
}

// TestViolationsReported shows that the check finds a forbidden import and
// respects the pattern forms.
func TestViolationsReported(t *testing.T) {
	rules := []rule{
		{from: "policy/...", forbidden: "queue", why: "p"},
		{from: "addr", forbidden: "...", why: "leaf"},
		{from: "portal", forbidden: "encrypt/...", why: "box only"},
		{from: "mailtext", forbidden: "...", why: "leaf", except: []string{"internal/mimelimit"}},
	}
	graph := map[string][]string{
		"mailtext":      {"internal/mimelimit", "internal/mimelimitx", "addr"},
		"policy/detect": {"queue", "policy/lexicon"},
		"policy":        {"queue/sub"}, // "queue" is the package alone
		"addr":          {"addr", "safeio"},
		"portal":        {"encrypt/portalbox"},
		"portal/box":    {"encrypt/portalbox"},
	}
	got := violations(rules, graph)
	want := []string{
		"addr imports safeio: leaf",
		"mailtext imports addr: leaf",
		"mailtext imports internal/mimelimitx: leaf",
		"policy/detect imports queue: p",
		"portal imports encrypt/portalbox: box only",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("violations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
