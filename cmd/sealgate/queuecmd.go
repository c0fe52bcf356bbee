package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sealgate/sealgate/control"
	"github.com/sealgate/sealgate/mail"
)

// cmdQueue is `sealgate queue list|show ID [--content]|retry ID|release ID|delete ID|flush`.
// It talks to the running gateway over its control socket; it never opens
// the spool itself.
func cmdQueue(inv *invocation, io stdio) int {
	c, code := dialGateway(inv, io, "")
	if c == nil {
		return code
	}
	op := inv.cmd.path[1]
	if err := queueOp(c, op, inv, io); err != nil {
		return io.fail("queue %s: %v", op, err)
	}
	return 0
}

func queueOp(c *control.Client, op string, inv *invocation, io stdio) error {
	var id string
	if len(inv.args) == 1 {
		id = inv.args[0]
	}
	switch op {
	case "list":
		list, err := c.List()
		if err == nil {
			printList(list, io)
		}
		return err
	case "show":
		return queueShow(c, id, inv.on("content"), io)
	case "retry", "release", "delete":
		done := map[string]string{"retry": "retrying now", "release": "released for delivery", "delete": "deleted"}[op]
		act := map[string]func(string) error{"retry": c.Retry, "release": c.Release, "delete": c.Delete}[op]
		err := act(id)
		if err == nil {
			fmt.Fprintf(io.out, "%s: %s\n", id, done)
		}
		return err
	case "flush":
		n, err := c.Flush()
		if err == nil {
			fmt.Fprintf(io.out, "%d messages due now\n", n)
		}
		return err
	}
	return fmt.Errorf("unknown operation")
}

// queueShow prints a message's envelope and state, or with --content the
// held message itself (the gateway audits that before it answers).
func queueShow(c *control.Client, id string, content bool, io stdio) error {
	if content {
		body, err := c.Content(id)
		if err == nil {
			_, err = io.out.Write(body)
		}
		return err
	}
	info, err := c.Show(id)
	if err == nil {
		err = printJSON(io.out, info)
	}
	return err
}

func printList(list []mail.Info, io stdio) {
	tw := tabwriter.NewWriter(io.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tAGE\tFROM\tRECIPIENTS\tATTEMPTS\tNEXT\tLAST ERROR")
	for _, m := range list {
		var rcpts []string
		lastErr := ""
		for _, r := range m.State.Rcpts {
			rcpts = append(rcpts, r.Addr+" ("+string(r.Status)+")")
			if r.LastError != "" {
				lastErr = r.LastError
			}
		}
		if m.Held {
			rcpts = append([]string{"[held by policy]"}, rcpts...)
		}
		from := m.From
		if from == "" {
			from = "<>"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", m.ID, time.Since(m.Received).Round(time.Second), from,
			strings.Join(rcpts, ", "), m.State.Attempts, m.State.NextAttempt.Format(time.RFC3339), trim(lastErr, 60))
	}
	tw.Flush()
	fmt.Fprintf(io.out, "%d messages\n", len(list))
}

func trim(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
