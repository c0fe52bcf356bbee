package main

// cmdCheck is `sealgate check`; cmdDKIM is `sealgate dkim keygen`.
func cmdCheck(args []string, io stdio) int {
	return io.fail("check: policy engine not built into this binary yet")
}
func cmdDKIM(args []string, io stdio) int { return io.fail("dkim: not built into this binary yet") }
