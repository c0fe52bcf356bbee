package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sealgate/sealgate/control"
	"github.com/sealgate/sealgate/queue"
)

// cmdQueue is `sealgate queue [--config FILE] list|show ID|retry ID|delete ID|flush`.
// It talks to the running gateway over its control socket.
func cmdQueue(args []string, io stdio) int {
	fl := newFlags("queue", io)
	path := fl.String("config", "", "config file (default: safe local defaults)")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	rest := fl.Args()
	if len(rest) == 0 {
		return io.fail("usage: sealgate queue list|show ID|retry ID|delete ID|flush")
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		fmt.Fprintln(io.err, err)
		return 1
	}
	c := control.Dial(controlSocket(cfg))
	if err := queueOp(c, rest, io); err != nil {
		return io.fail("queue %s: %v", rest[0], err)
	}
	return 0
}

func queueOp(c *control.Client, args []string, io stdio) error {
	needID := func() (string, error) {
		if len(args) != 2 {
			return "", fmt.Errorf("needs exactly one queue ID")
		}
		return args[1], nil
	}
	switch args[0] {
	case "list":
		list, err := c.List()
		if err == nil {
			printList(list, io)
		}
		return err
	case "show":
		id, err := needID()
		if err != nil {
			return err
		}
		info, err := c.Show(id)
		if err == nil {
			enc := json.NewEncoder(io.out)
			enc.SetIndent("", "  ")
			enc.Encode(info)
		}
		return err
	case "retry", "delete":
		id, err := needID()
		if err != nil {
			return err
		}
		if args[0] == "retry" {
			err = c.Retry(id)
		} else {
			err = c.Delete(id)
		}
		if err == nil {
			fmt.Fprintf(io.out, "%s: %s\n", id, args[0]+map[string]string{"retry": "ing now", "delete": "d"}[args[0]])
		}
		return err
	case "flush":
		n, err := c.Flush()
		if err == nil {
			fmt.Fprintf(io.out, "%d messages due now\n", n)
		}
		return err
	}
	return fmt.Errorf("unknown operation (list, show, retry, delete, flush)")
}

func printList(list []queue.Info, io stdio) {
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
