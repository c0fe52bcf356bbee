package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/sealgate/sealgate/control"
)

// cmdServe is `sealgate serve`.
func cmdServe(inv *invocation, io stdio) int {
	cfg, src, err := commandConfig(inv)
	if err != nil {
		fmt.Fprintln(io.err, err)
		return 1
	}
	log := newLogger(cfg.Log.Level, cfg.Log.Format, io)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	g, sig, err := startServing(cfg, src.path, log, io.out, sigs)
	if err != nil {
		return io.fail("%v", err)
	}
	if g == nil {
		log.Info("stopped in standby", slog.String("signal", sig.String()))
		return 0
	}
	announce(g, src, io)
	sig = <-sigs
	for sig == syscall.SIGHUP {
		if err := g.reload(); err != nil {
			log.Error("SIGHUP: reload refused; still running on the previous configuration", slog.String("error", err.Error()))
		}
		sig = <-sigs
	}
	log.Info("shutting down", slog.String("signal", sig.String()))
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Queue.ShutdownTimeout)
	defer cancel()
	if err := g.close(ctx); err != nil {
		log.Warn("shutdown", slog.String("error", err.Error()))
	}
	return 0
}

// announce says what the gateway listens on, and where its data is.
func announce(g *gateway, src configSource, io stdio) {
	fmt.Fprintf(io.out, "sealgate: config %s\n", src)
	if src.path == "" {
		fmt.Fprintf(io.out, "sealgate: running with safe local defaults (loopback only)\n")
		fmt.Fprintf(io.out, "sealgate: data folder %s, self-signed certificate %s\n", g.cfg.DataDir, g.cfg.TLS.Cert)
	}
	for i, a := range g.smtpd.Addrs() {
		l := g.cfg.Listeners[i]
		fmt.Fprintf(io.out, "sealgate: SMTP %s on %s (tls %s, auth %s)\n", l.Name, a, l.TLS, l.Auth)
	}
	if g.portal != nil {
		fmt.Fprintf(io.out, "sealgate: pickup portal on https://%s (links use %s)\n", g.portal.Addr(), g.cfg.Portal.BaseURL)
	}
	if g.api != nil {
		fmt.Fprintf(io.out, "sealgate: HTTP API on https://%s/v1/messages\n", g.api.Addr())
	}
	if g.metrics != nil {
		fmt.Fprintf(io.out, "sealgate: metrics on http://%s/metrics\n", g.metrics.Addr())
	}
	fmt.Fprintf(io.out, "sealgate: control socket %s\n", controlSocket(g.cfg))
}

func newLogger(level, format string, io stdio) *slog.Logger {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		lv = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(io.err, opts))
	}
	return slog.New(slog.NewTextHandler(io.err, opts))
}

// cmdReload is `sealgate reload`: the running gateway re-reads its
// configuration, keys and certificates, as on SIGHUP, and says whether it
// took them.
func cmdReload(inv *invocation, io stdio) int {
	c, code := dialGateway(inv, io, "reload not sent: the config has errors; the gateway keeps its previous configuration")
	if c == nil {
		return code
	}
	if err := c.Reload(); err != nil {
		return io.fail("reload refused, the gateway keeps its previous configuration:\n%v", err)
	}
	fmt.Fprintln(io.out, "reloaded")
	return 0
}

// cmdHealth is `sealgate health`: it asks the running gateway over its
// control socket whether it is sound, for a container's HEALTHCHECK (the
// image has no shell or HTTP client). It prints "ready" when the gateway
// takes mail, and "draining" or "drained" (still exit 0) while the node
// is out of service on purpose, so the orchestrator lets the hand-off
// finish; /readyz says not ready meanwhile.
func cmdHealth(inv *invocation, io stdio) int {
	c, code := dialGateway(inv, io, "")
	if c == nil {
		return code
	}
	state, err := c.Health()
	if err != nil {
		return io.fail("health: %v", err)
	}
	fmt.Fprintln(io.out, state)
	return 0
}

// dialGateway finds the config of inv and the running gateway's control
// socket in its data folder. It returns nil and the exit status when
// either is missing, having said why (with badConfig, if given, after a
// config's errors); it never creates the socket's folder.
func dialGateway(inv *invocation, io stdio, badConfig string) (*control.Client, int) {
	cfg, src, err := commandConfig(inv)
	if err != nil {
		fmt.Fprintln(io.err, err)
		if badConfig != "" {
			fmt.Fprintln(io.err, "sealgate: "+badConfig)
		}
		return nil, 1
	}
	sock := controlSocket(cfg)
	if _, err := os.Stat(sock); err != nil {
		return nil, io.fail("%s: no running gateway: no control socket %s (config: %s)", inv.cmd.name(), sock, src)
	}
	return control.Dial(sock), 0
}
