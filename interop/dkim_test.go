package interop

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"time"
)

// verifyDKIM runs one verifier on msg. Neither opendkim-testmsg nor
// dkimverify can be pointed at a DNS server, so each runs in a private
// mount namespace where /etc/resolv.conf is replaced by resolv (naming the
// loopback DNS server); the system's resolv.conf is not touched.
func verifyDKIM(tl tools, resolv string, argv []string, msg []byte) (bool, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := append([]string{"--mount", "--", "sh", "-c",
		`mount --bind "$0" /etc/resolv.conf && exec "$@"`, resolv}, argv...)
	cmd := exec.CommandContext(ctx, tl.unshare, args...)
	cmd.Stdin = bytes.NewReader(msg)
	out, err := cmd.CombinedOutput()
	text := strings.TrimSpace(string(out))
	if err != nil {
		return false, text + " (" + err.Error() + ")"
	}
	switch argv[0] {
	case tl.dkimpy:
		return text == "signature ok", text
	default: // opendkim-testmsg says nothing when the signature verifies
		return text == "", text
	}
}
