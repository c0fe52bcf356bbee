package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// dockerfile returns the final stage's instructions of the Dockerfile, as
// keyword and argument text, continuation lines joined.
func dockerfile(t *testing.T) [][2]string {
	t.Helper()
	text := strings.ReplaceAll(string(mustRead(t, "../../Dockerfile")), "\\\n", " ")
	var out [][2]string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		kw, rest, _ := strings.Cut(line, " ")
		if strings.EqualFold(kw, "FROM") {
			out = nil // only the runtime stage counts
		}
		out = append(out, [2]string{strings.ToUpper(kw), strings.TrimSpace(rest)})
	}
	return out
}

// TestDockerfileImage: the runtime image creates its data folder owned by
// the non-root user it runs as, checks its health with a command the
// binary really has, exposes SMTP, submission, portal and metrics, and
// finds its config without a flag.
func TestDockerfileImage(t *testing.T) {
	t.Parallel()
	var user, health, cmd string
	var exposed, copies, env []string
	for _, in := range dockerfile(t) {
		switch in[0] {
		case "USER":
			user = in[1]
		case "HEALTHCHECK":
			health = in[1]
		case "EXPOSE":
			exposed = append(exposed, strings.Fields(in[1])...)
		case "COPY":
			copies = append(copies, in[1])
		case "ENV":
			env = append(env, in[1])
		case "CMD":
			cmd = in[1]
		}
	}
	if user != "65532:65532" {
		t.Errorf("USER %q, want the distroless nonroot user 65532:65532", user)
	}
	// The folder itself must be copied (its parent's contents), so that it,
	// not only what it holds, belongs to the user.
	if !slices.Contains(copies, "--from=build --chown=65532:65532 /out/var-lib/ /var/lib/") ||
		!strings.Contains(string(mustRead(t, "../../Dockerfile")), "RUN mkdir -p /out/var-lib/sealgate && chmod 0700 /out/var-lib/sealgate") {
		t.Errorf("no COPY makes /var/lib/sealgate a folder owned by 65532, mode 0700: %q", copies)
	}
	for _, port := range []string{"2525", "2587", "8443", "9464"} {
		if !slices.Contains(exposed, port) {
			t.Errorf("port %s not exposed (EXPOSE %v)", port, exposed)
		}
	}
	if !slices.Contains(env, "SEALGATE_CONFIG=/etc/sealgate/sealgate.yaml") {
		t.Errorf("ENV %q does not point every command at the config", env)
	}
	_, hc, ok := strings.Cut(health, "CMD ")
	if !ok {
		t.Fatalf("no HEALTHCHECK CMD: %q", health)
	}
	for name, exec := range map[string]string{"HEALTHCHECK": hc, "CMD": cmd} {
		var argv []string
		if err := json.Unmarshal([]byte(exec), &argv); err != nil || len(argv) == 0 {
			t.Fatalf("%s %q is not an exec-form JSON array: %v", name, exec, err)
		}
		if name == "HEALTHCHECK" {
			argv = argv[1:] // the binary's path
		}
		inv, err := parseArgs(argv)
		if err != nil {
			t.Errorf("%s %q is not a sealgate command line: %v", name, exec, err)
			continue
		}
		if want := map[string]string{"HEALTHCHECK": "health", "CMD": "serve"}[name]; inv.cmd.name() != want {
			t.Errorf("%s runs %q, want %q", name, inv.cmd.name(), want)
		}
	}
}
