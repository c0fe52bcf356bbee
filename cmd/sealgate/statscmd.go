package main

import (
	"context"
	"fmt"
	"time"

	"github.com/sealgate/sealgate/config"
	"github.com/sealgate/sealgate/stats"
)

// cmdStats is `sealgate stats [--since 24h] [--json]`: what became of each
// sending domain's mail, from the counts the gateways keep in the shared
// store (so every node sharing it is included).
func cmdStats(inv *invocation, io stdio) int {
	cfg, src, err := commandConfig(inv)
	if err != nil {
		fmt.Fprintln(io.err, err)
		return 1
	}
	since := 24 * time.Hour
	if s := inv.flag("since"); s != "" {
		if since, err = config.ParseDuration(s); err != nil || since <= 0 {
			return io.fail("stats: --since wants a duration such as 24h or 7d, got %q", s)
		}
	}
	if err := portalStoreExists(cfg); err != nil {
		return io.fail("stats: %v (config: %s)", err, src)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, _, err := openPortalStore(ctx, cfg, true)
	if err != nil {
		return io.fail("stats: %v", err)
	}
	defer st.Close(ctx)
	counts, err := st.Stats(ctx, time.Now().Add(-since))
	if err != nil {
		return io.fail("stats: %v", err)
	}
	report := stats.Summarise(counts)
	if inv.on("json") {
		if err := printJSON(io.out, report); err != nil {
			return io.fail("stats: %v", err)
		}
		return 0
	}
	fmt.Fprintf(io.out, "Since %s (counted by the hour, UTC):\n", time.Now().Add(-since).UTC().Truncate(time.Hour).Format(time.RFC3339))
	if err := stats.Print(io.out, report); err != nil {
		return io.fail("stats: %v", err)
	}
	return 0
}
