package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sealgate/sealgate/api"
	"github.com/sealgate/sealgate/config"
	"github.com/sealgate/sealgate/metrics"
)

// standbyProbe is how often a gateway in standby tries its data folder
// again.
const standbyProbe = 2 * time.Second

// readOnly reports whether err comes from a read-only file system: the
// one storage failure that sealgate cannot run through, because neither
// the audit log nor a message's delivery state could be written.
func readOnly(err error) bool {
	return errors.Is(err, syscall.EROFS)
}

// probeWritable writes, syncs and removes a small file in every folder the
// gateway must write to before it can take or deliver mail: the data
// folder, the spool and the audit log's folder. A full disk is not an
// error here (the spool answers it with 452 and keeps delivering); only a
// read-only file system is.
func probeWritable(cfg *config.Config) error {
	dirs := []string{cfg.DataDir, cfg.SpoolDir()}
	if p := cfg.Log.AuditFile; p != "" && p != "-" {
		dirs = append(dirs, filepath.Dir(p))
	}
	for _, d := range dirs {
		d = existingAncestor(d)
		f, err := os.CreateTemp(d, ".sealgate-probe-*")
		if err != nil {
			if readOnly(err) {
				return fmt.Errorf("%s: %w", d, syscall.EROFS)
			}
			continue
		}
		_, werr := f.Write([]byte{0})
		serr := f.Sync()
		f.Close()
		os.Remove(f.Name())
		if readOnly(werr) || readOnly(serr) {
			return fmt.Errorf("%s: %w", d, syscall.EROFS)
		}
	}
	return nil
}

// existingAncestor is d, or its nearest parent that exists: the folder
// that sealgate writes into to make d.
func existingAncestor(d string) string {
	for {
		if _, err := os.Stat(d); err == nil || filepath.Dir(d) == d {
			return d
		}
		d = filepath.Dir(d)
	}
}

// standby is what `sealgate serve` runs while its data folder is on a
// read-only file system. Nothing can be accepted (a 250 needs the spool)
// and nothing delivered (a delivery needs its audit record and its state
// written), so the SMTP listeners answer every connection with 421 4.3.2
// (senders retry later), the HTTP API answers 503, /readyz says why, the
// metrics are served, and the folder is tried again every standbyProbe
// until it can be written; then the gateway starts in full.
type standby struct {
	log     *slog.Logger
	lns     []net.Listener
	api     *http.Server
	metrics *metrics.Server
	wg      sync.WaitGroup
}

// startStandby opens the listeners of cfg in standby, reason being what
// /readyz and the log say.
// Each listener is announced on out, as serve announces a running
// gateway's.
func startStandby(cfg *config.Config, log *slog.Logger, out io.Writer, reason error) (*standby, error) {
	s := &standby{log: log}
	greeting := fmt.Sprintf("421 4.3.2 %s Service not available: mail storage is read-only, try again later\r\n", cfg.Hostname)
	for _, l := range cfg.Listeners {
		ln, err := net.Listen("tcp", l.Address)
		if err != nil {
			s.close()
			return nil, fmt.Errorf("listener %s: %w", l.Name, err)
		}
		s.lns = append(s.lns, ln)
		// An implicit-TLS client expects a handshake, not a greeting: it
		// is closed, which it also retries later.
		reply := greeting
		if l.TLS == config.TLSImplicit {
			reply = ""
		}
		s.wg.Add(1)
		go s.refuse(ln, reply)
		fmt.Fprintf(out, "sealgate: standby: SMTP %s on %s answers 421 (data folder read-only)\n", l.Name, ln.Addr())
	}
	if err := s.startAPI(cfg, out); err != nil {
		s.close()
		return nil, err
	}
	if cfg.Metrics.Listen != "" {
		reg := prometheus.NewRegistry()
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "sealgate_storage_read_only",
			Help: "1 while the gateway is in standby because its data folder is on a read-only file system.",
		}, func() float64 { return 1 }))
		m, err := metrics.Listen(cfg.Metrics.Listen, reg, func() error {
			return fmt.Errorf("standby: %v", reason)
		})
		if err != nil {
			s.close()
			return nil, fmt.Errorf("metrics listener: %w", err)
		}
		s.metrics = m
		fmt.Fprintf(out, "sealgate: standby: metrics on http://%s/metrics\n", m.Addr())
	}
	log.Error("data folder is read-only: standing by (SMTP answers 421, nothing is delivered) until it can be written",
		slog.String("error", reason.Error()))
	return s, nil
}

// startAPI serves the HTTP API's listener, when there is one, with 503
// answers: an application retries later, as an SMTP client does after 421.
func (s *standby) startAPI(cfg *config.Config, out io.Writer) error {
	if cfg.API.Listen == "" {
		return nil
	}
	files := cfg.APITLS()
	pair, err := tls.LoadX509KeyPair(files.Cert, files.Key)
	if err != nil {
		return fmt.Errorf("api certificate: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.API.Listen)
	if err != nil {
		return fmt.Errorf("api listener: %w", err)
	}
	s.api = &http.Server{Handler: api.Unavailable("the gateway's mail storage is read-only"),
		ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug)}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}}
	go s.api.Serve(tls.NewListener(ln, tlsCfg))
	fmt.Fprintf(out, "sealgate: standby: HTTP API on https://%s/v1/messages answers 503 (data folder read-only)\n", ln.Addr())
	return nil
}

// refuse answers every connection on ln with reply and closes it.
func (s *standby) refuse(ln net.Listener, reply string) {
	defer s.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if reply != "" {
			c.Write([]byte(reply))
		}
		c.Close()
	}
}

// close stops the standby listeners so the gateway can take their
// addresses.
func (s *standby) close() {
	for _, ln := range s.lns {
		ln.Close()
	}
	s.wg.Wait()
	if s.api != nil {
		s.api.Close()
	}
	if s.metrics != nil {
		s.metrics.Close(context.Background())
	}
}

// startServing starts the gateway, or, while its data folder is read-only,
// stands by until it can be written or a signal comes. It returns the
// running gateway, or nil and the signal that ended the standby. cfgPath
// is where cfg was read from ("" for defaults), for reload.
func startServing(cfg *config.Config, cfgPath string, log *slog.Logger, out io.Writer, sigs <-chan os.Signal) (*gateway, os.Signal, error) {
	for {
		err := probeWritable(cfg)
		if err == nil {
			var g *gateway
			g, err = startGateway(cfg, cfgPath, log)
			if err == nil {
				return g, nil, nil
			}
		}
		if !readOnly(err) {
			return nil, nil, err
		}
		sb, serr := startStandby(cfg, log, out, err)
		if serr != nil {
			return nil, nil, serr
		}
		sig := waitWritable(cfg, sigs)
		sb.close()
		if sig != nil {
			return nil, sig, nil
		}
		log.Info("data folder can be written again: starting")
	}
}

// waitWritable returns nil once cfg's folders can be written, or the
// first signal other than SIGHUP.
func waitWritable(cfg *config.Config, sigs <-chan os.Signal) os.Signal {
	t := time.NewTicker(standbyProbe)
	defer t.Stop()
	for {
		select {
		case sig := <-sigs:
			if sig != syscall.SIGHUP {
				return sig
			}
		case <-t.C:
			if probeWritable(cfg) == nil {
				return nil
			}
		}
	}
}
