package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// complete asks bash, with the script `sealgate completion bash` printed
// loaded, what it offers for the command line words (the last one being
// completed).
func complete(t *testing.T, script, dir string, words ...string) []string {
	t.Helper()
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = "'" + w + "'"
	}
	prog := script + "\nCOMP_WORDS=(" + strings.Join(quoted, " ") + ")\nCOMP_CWORD=" +
		strconv.Itoa(len(words)-1) + "\n_sealgate\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
	cmd := exec.Command("bash", "--norc", "--noprofile", "-c", prog)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	return strings.Fields(string(out))
}

func TestBashCompletion(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the built binary; skipped with -short")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Fatal("bash is needed for this test")
	}
	t.Parallel()
	bin := buildBinary(t)
	code, script, errs := sealgateCmd(t, bin, t.TempDir(), nil, "completion", "bash")
	if code != 0 || !strings.Contains(script, "complete -F _sealgate sealgate") {
		t.Fatalf("completion bash: %d %q", code, errs)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "gateway.yaml"), nil, 0o600)
	for _, tc := range []struct {
		words []string
		want  string
	}{
		{[]string{"sealgate", ""}, "apikey audit check completion config consent dkim dns evidence health help node passwd portal queue reload serve stats store suppress"},
		{[]string{"sealgate", "evidence", ""}, "export show"},
		{[]string{"sealgate", "evidence", "export", "--f"}, "--format"},
		{[]string{"sealgate", "q"}, "queue"},
		{[]string{"sealgate", "node", ""}, "drain resume status"},
		{[]string{"sealgate", "queue", ""}, "delete flush list release retry show"},
		{[]string{"sealgate", "queue", "re"}, "release retry"},
		{[]string{"sealgate", "--config", "gateway.yaml", "portal", "l"}, "list"},
		{[]string{"sealgate", "portal", "list", "--"}, "--config --help --json"},
		{[]string{"sealgate", "queue", "show", "--c"}, "--config --content"},
		{[]string{"sealgate", "serve", "--config", "gat"}, "gateway.yaml"},
		{[]string{"sealgate", "completion", ""}, "bash"},
		{[]string{"sealgate", "dkim", "keygen", "--domain", ""}, ""},
		{[]string{"sealgate", "dns", "check", "--"}, "--config --domain --help --ip --json"},
	} {
		got := complete(t, script, dir, tc.words...)
		slices.Sort(got)
		if strings.Join(got, " ") != tc.want {
			t.Errorf("completing %q: %q, want %q", tc.words, got, tc.want)
		}
	}
}
