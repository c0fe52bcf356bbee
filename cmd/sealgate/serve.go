package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// cmdServe is `sealgate serve [--config FILE]`.
func cmdServe(args []string, io stdio) int {
	fl := newFlags("serve", io)
	path := fl.String("config", "", "config file (default: safe local defaults)")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		fmt.Fprintln(io.err, err)
		return 1
	}
	log := newLogger(cfg.Log.Level, cfg.Log.Format, io)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	g, sig, err := startServing(cfg, log, io.out, sigs)
	if err != nil {
		return io.fail("%v", err)
	}
	if g == nil {
		log.Info("stopped in standby", slog.String("signal", sig.String()))
		return 0
	}
	announce(g, *path == "", io)
	sig = <-sigs
	for sig == syscall.SIGHUP {
		log.Info("SIGHUP: reloading key folders")
		if g.protect != nil {
			g.protect.Reload()
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
func announce(g *gateway, defaults bool, io stdio) {
	if defaults {
		fmt.Fprintf(io.out, "sealgate: no --config given: running with safe local defaults (loopback only)\n")
		fmt.Fprintf(io.out, "sealgate: data folder %s, self-signed certificate %s\n", g.cfg.DataDir, g.cfg.TLS.Cert)
	}
	for i, a := range g.smtpd.Addrs() {
		l := g.cfg.Listeners[i]
		fmt.Fprintf(io.out, "sealgate: SMTP %s on %s (tls %s, auth %s)\n", l.Name, a, l.TLS, l.Auth)
	}
	if g.portal != nil {
		fmt.Fprintf(io.out, "sealgate: pickup portal on https://%s (links use %s)\n", g.portal.Addr(), g.cfg.Portal.BaseURL)
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
