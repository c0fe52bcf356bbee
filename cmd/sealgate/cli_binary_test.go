package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// sealgateCmd runs the built binary in dir with env added, and returns
// its exit code, standard output and standard error.
func sealgateCmd(t *testing.T, bin, dir string, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SEALGATE_CONFIG=")
	cmd.Env = append(cmd.Env, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

// dirEntries lists every file under dir, relative to it.
func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if p != dir {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

const plainConfig = "hostname: gw.example.org\nlisteners: [{name: l, address: \"127.0.0.1:0\", tls: none, auth: none}]\n" +
	"clients: [{name: c, networks: [127.0.0.1], allowed_senders: \"*\"}]\nencryption: {order: [tls]}\n"

// TestCommandLine runs the built binary: one parser for every verb, flags
// before or after the verb, clear errors, --help everywhere, the same
// config lookup for every command.
func TestCommandLine(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the built binary; skipped with -short")
	}
	t.Parallel()
	bin := buildBinary(t)

	// Regression: `portal list --config FILE` ignored the flag, printed an
	// empty list and made sealgate-data/keys/portal.key in the working folder.
	t.Run("read-only commands create nothing", func(t *testing.T) {
		cwd, data := t.TempDir(), t.TempDir()
		cfg := filepath.Join(t.TempDir(), "s.yaml")
		os.WriteFile(cfg, []byte("data_dir: "+data+"\n"+plainConfig), 0o600)
		for _, args := range [][]string{
			{"portal", "list", "--config", cfg}, {"--config", cfg, "portal", "list"}, {"portal", "--config=" + cfg, "list"},
			{"portal", "list"}, {"portal", "audit", "X1", "--config", cfg}, {"portal", "purge", "--config", cfg},
			{"queue", "list", "--config", cfg}, {"queue", "list"}, {"reload", "--config", cfg},
			{"evidence", "export", "--since", "24h", "--format", "jsonl", "--config", cfg}, {"evidence", "show", "Q1", "--config", cfg},
			{"evidence", "export", "--since", "24h", "--format", "csv"},
			{"store", "status", "--config", cfg}, {"stats", "--config", cfg}, {"consent", "list", "--config", cfg},
			{"suppress", "list", "--config", cfg}, {"suppress", "export", "--config", cfg}, {"apikey", "list", "--config", cfg},
			{"node", "status", "--config", cfg}, {"audit", "key", "--config", cfg}, {"audit", "verify", "--config", cfg},
		} {
			code, out, errs := sealgateCmd(t, bin, cwd, nil, args...)
			if code != 1 || out != "" {
				t.Errorf("%q: exit %d, stdout %q; want 1 and nothing", args, code, out)
			}
			if strings.Contains(strings.Join(args, " "), cfg) && !strings.Contains(errs, cfg) {
				t.Errorf("%q: the error does not name the config used: %q", args, errs)
			}
			if !strings.Contains(strings.Join(args, " "), cfg) && !strings.Contains(errs, "built-in defaults") {
				t.Errorf("%q: the error does not say defaults were used: %q", args, errs)
			}
		}
		if got := append(dirEntries(t, cwd), dirEntries(t, data)...); len(got) != 0 {
			t.Errorf("read-only commands created %q", got)
		}
	})

	t.Run("flags anywhere, and errors", func(t *testing.T) {
		cwd := t.TempDir()
		cfg := filepath.Join(cwd, "s.yaml")
		os.WriteFile(cfg, []byte("data_dir: "+cwd+"/data\n"+plainConfig), 0o600)
		for _, args := range [][]string{{"config", "check", "--config", cfg}, {"--config", cfg, "config", "check"},
			{"config", "--config", cfg, "check"}, {"-config=" + cfg, "config", "check"}} {
			if code, out, errs := sealgateCmd(t, bin, cwd, nil, args...); code != 0 || out != cfg+": ok\n" {
				t.Errorf("%q: %d %q %q", args, code, out, errs)
			}
		}
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"portal", "list", "--confg", cfg}, `unknown flag --confg; did you mean "--config"?`},
			{[]string{"queue", "lst"}, `unknown command "queue lst"; did you mean "queue list"?`},
			{[]string{"serv"}, `unknown command "serv"; did you mean "serve"?`},
			{[]string{"portal", "list", "--sender", "a@b"}, "sealgate portal list does not take --sender (it takes --config, --json)"},
			{[]string{"passwd", "--config", cfg}, "sealgate passwd does not take --config (it takes no flags)"},
			{[]string{"queue", "show"}, "usage: sealgate queue show ID [--config FILE] [--content]"},
			{[]string{"queue", "retry", "a", "b"}, "wrong number of arguments"},
			{[]string{"portal"}, "sealgate portal needs one of: list, revoke, purge, audit"},
			{[]string{"check", "--config"}, "--config needs a value (FILE)"},
			{[]string{"check", "--json=yes"}, "--json takes no value"},
			{[]string{"check", "--config", cfg, "--config", cfg}, "--config given twice"},
			{[]string{}, "no command given"},
		} {
			code, out, errs := sealgateCmd(t, bin, cwd, nil, tc.args...)
			if code != 2 || out != "" || !strings.Contains(errs, tc.want) {
				t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2 and %q", tc.args, code, out, errs, tc.want)
			}
		}
	})

	t.Run("help on every verb", func(t *testing.T) {
		for _, c := range commands {
			for _, args := range [][]string{append(append([]string{}, c.path...), "--help"), append([]string{"-h"}, c.path...),
				append([]string{"help"}, c.path...)} {
				code, out, errs := sealgateCmd(t, bin, t.TempDir(), nil, args...)
				if code != 0 || !strings.Contains(out, "usage: sealgate "+c.name()) || !strings.Contains(out, c.summary) {
					t.Errorf("%q: %d %q %q", args, code, out, errs)
				}
				if strings.Contains(strings.Join(c.flags, " "), "config") && !strings.Contains(out, "SEALGATE_CONFIG") {
					t.Errorf("%q: help does not say how the config is found", args)
				}
			}
		}
		code, out, _ := sealgateCmd(t, bin, t.TempDir(), nil, "queue", "--help")
		if code != 0 || !strings.Contains(out, "sealgate queue release ID") {
			t.Errorf("queue --help: %d %q", code, out)
		}
		code, out, _ = sealgateCmd(t, bin, t.TempDir(), nil, "--help")
		for _, c := range commands {
			if code != 0 || !strings.Contains(out, c.name()) {
				t.Errorf("--help lacks %q: %q", c.name(), out)
			}
		}
	})

	// Every command finds its config the same way: --config, then
	// SEALGATE_CONFIG, then ./sealgate.yaml. A broken file proves which one
	// was read: serve and config check both report it.
	t.Run("one config lookup", func(t *testing.T) {
		cwd := t.TempDir()
		broken := "data_dir: " + cwd + "/data\n" + plainConfig + "bogus_key: 1\n"
		os.WriteFile(filepath.Join(cwd, "sealgate.yaml"), []byte(broken), 0o600)
		for _, verb := range [][]string{{"serve"}, {"config", "check"}, {"check", "/dev/null"}, {"queue", "list"}, {"portal", "list"}, {"reload"}} {
			code, _, errs := sealgateCmd(t, bin, cwd, nil, verb...)
			if code != 1 || !strings.Contains(errs, "sealgate.yaml:6: bogus_key") {
				t.Errorf("%q in a folder with a broken sealgate.yaml: %d %q", verb, code, errs)
			}
		}
		other := filepath.Join(t.TempDir(), "other.yaml")
		os.WriteFile(other, []byte(strings.Replace(broken, "bogus_key", "second_bogus", 1)), 0o600)
		for _, verb := range [][]string{{"serve"}, {"config", "check"}} {
			code, _, errs := sealgateCmd(t, bin, cwd, []string{"SEALGATE_CONFIG=" + other}, verb...)
			if code != 1 || !strings.Contains(errs, "other.yaml:6: second_bogus") {
				t.Errorf("%q with SEALGATE_CONFIG: %d %q", verb, code, errs)
			}
		}
		code, _, errs := sealgateCmd(t, bin, t.TempDir(), nil, "config", "check")
		if code != 1 || !strings.Contains(errs, "no config file found") {
			t.Errorf("config check with nothing to check: %d %q", code, errs)
		}
	})
}
