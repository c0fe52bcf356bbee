package main

import (
	"encoding/json"
	"fmt"
	"net"
	"time"

	"github.com/sealgate/sealgate/control"
)

// nodeWaitPoll is how often `node drain` asks how far the drain is.
const nodeWaitPoll = 500 * time.Millisecond

// cmdNode is `sealgate node drain|status|resume`, spoken to the running
// gateway over its control socket (audited there).
func cmdNode(inv *invocation, io stdio) int {
	c, code := dialGateway(inv, io, "")
	if c == nil {
		return code
	}
	op := inv.cmd.path[1]
	switch op {
	case "status":
		st, err := c.NodeStatus()
		if err != nil {
			return io.fail("node status: %v", err)
		}
		printNode(st, inv.on("json"), io)
		return 0
	case "resume":
		st, err := c.Resume()
		if err != nil {
			return io.fail("node resume: %v", err)
		}
		printNode(st, inv.on("json"), io)
		return 0
	}
	return nodeDrain(c, inv, io)
}

// nodeDrain starts a drain and, unless --no-wait, follows it until the
// node is drained, printing each change of phase: a Kubernetes preStop
// hook or a systemd ExecStop runs it and the process is stopped after.
func nodeDrain(c *control.Client, inv *invocation, io stdio) int {
	var deadline time.Duration
	if d := inv.flag("deadline"); d != "" {
		var err error
		if deadline, err = time.ParseDuration(d); err != nil || deadline <= 0 {
			return io.fail("node drain: --deadline %q: want a duration such as 10m", d)
		}
	}
	peer := inv.flag("peer")
	if peer != "" {
		if _, _, err := net.SplitHostPort(peer); err != nil {
			return io.fail("node drain: --peer %q: want HOST:PORT of the peer's cluster.listen", peer)
		}
	}
	st, err := c.Drain(deadline, peer)
	if err != nil {
		return io.fail("node drain: %v", err)
	}
	printNode(st, inv.on("json"), io)
	if inv.on("no-wait") {
		return 0
	}
	last := st.Phase + st.LastError
	for st.State == control.NodeDraining {
		time.Sleep(nodeWaitPoll)
		if st, err = c.NodeStatus(); err != nil {
			return io.fail("node drain: %v", err)
		}
		if now := st.Phase + st.LastError; now != last && !inv.on("json") {
			last = now
			printNode(st, false, io)
		}
	}
	if st.State != control.NodeDrained {
		return io.fail("node drain: the node is %s again (resumed meanwhile)", st.State)
	}
	if inv.on("json") {
		printNode(st, true, io)
	} else {
		fmt.Fprintln(io.out, "drained: the spool is empty")
	}
	return 0
}

func printNode(st control.NodeStatus, asJSON bool, io stdio) {
	if asJSON {
		b, _ := json.Marshal(st)
		fmt.Fprintln(io.out, string(b))
		return
	}
	fmt.Fprintf(io.out, "state: %s", st.State)
	if !st.Since.IsZero() {
		fmt.Fprintf(io.out, " since %s", st.Since.UTC().Format(time.RFC3339))
	}
	fmt.Fprintln(io.out)
	if st.State == control.NodeDraining {
		peer := st.Peer
		if peer == "" {
			peer = "(configured peers)"
		}
		fmt.Fprintf(io.out, "phase: %s; hand-off at %s to %s\n", st.Phase, st.Deadline.UTC().Format(time.RFC3339), peer)
	}
	fmt.Fprintf(io.out, "spool: %d messages (%d held, %d in delivery); handed off: %d\n",
		st.Spool.Messages, st.Spool.Held, st.Spool.Running, st.HandedOff)
	if st.LastError != "" {
		fmt.Fprintf(io.out, "last hand-off error: %s\n", st.LastError)
	}
}
