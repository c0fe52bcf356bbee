package interop

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// inCI reports whether the suite runs in CI, where it must never skip.
func inCI() bool { return os.Getenv("CI") == "true" }

// missing skips the test outside CI and fails it in CI.
func missing(t *testing.T, format string, args ...any) {
	t.Helper()
	if inCI() {
		t.Fatalf("interop: "+format+" (CI=true: .ci/run installs it)", args...)
	}
	t.Skipf("interop: "+format+"; .ci/run installs it", args...)
}

// tools are the programs the suite drives.
type tools struct {
	postfix, postconf string
	exim              string
	node, nodemailer  string // node binary, nodemailer package folder
	python            string
	opendkim, dkimpy  string
	unshare           string
}

// toolsDir is where .ci/run unpacks Exim and installs Nodemailer.
func toolsDir() string {
	if d := os.Getenv("SEALGATE_INTEROP_TOOLS"); d != "" {
		return d
	}
	abs, _ := filepath.Abs(".tools")
	return abs
}

// findTools locates every tool or skips (fails in CI).
func findTools(t *testing.T) tools {
	t.Helper()
	if os.Geteuid() != 0 {
		missing(t, "needs root to run Postfix and Exim and bind ports 25 and 53 on loopback")
	}
	var tl tools
	look := func(name string, dst *string, candidates ...string) {
		for _, c := range candidates {
			if p, err := exec.LookPath(c); err == nil {
				*dst = p
				return
			}
		}
		missing(t, "%s not found", name)
	}
	look("postfix", &tl.postfix, "/usr/sbin/postfix", "postfix")
	look("postconf", &tl.postconf, "/usr/sbin/postconf", "postconf")
	look("exim (exim4-daemon-light)", &tl.exim, filepath.Join(toolsDir(), "exim/usr/sbin/exim4"), "/usr/sbin/exim4")
	look("node", &tl.node, "node", "nodejs")
	look("python3", &tl.python, "/usr/bin/python3", "python3")
	look("opendkim-testmsg (opendkim-tools)", &tl.opendkim, "opendkim-testmsg", "/usr/sbin/opendkim-testmsg")
	look("dkimverify (python3-dkim)", &tl.dkimpy, "dkimverify")
	look("unshare (util-linux)", &tl.unshare, "unshare")
	tl.nodemailer = filepath.Join(toolsDir(), "node_modules/nodemailer")
	if _, err := os.Stat(filepath.Join(tl.nodemailer, "package.json")); err != nil {
		missing(t, "nodemailer not installed in %s", toolsDir())
	}
	for _, mod := range []string{"/usr/lib/x86_64-linux-gnu/sasl2/libplain.so", "/usr/lib/aarch64-linux-gnu/sasl2/libplain.so"} {
		if _, err := os.Stat(mod); err == nil {
			return tl
		}
	}
	missing(t, "Cyrus SASL PLAIN module (libsasl2-modules) not found")
	return tl
}
