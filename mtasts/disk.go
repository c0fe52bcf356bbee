package mtasts

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sealgate/sealgate/addr"
	"github.com/sealgate/sealgate/safeio"
)

// The on-disk cache: one JSON file per domain in Config.Dir, written
// atomically (safeio), so policies survive a restart (RFC 8461 §5.1).

// load reads Dir; broken or expired files are removed.
func (c *Cache) load() error {
	if c.cfg.Dir == "" {
		return nil
	}
	if err := os.MkdirAll(c.cfg.Dir, 0o700); err != nil {
		return fmt.Errorf("mtasts: cache directory: %w", err)
	}
	files, err := filepath.Glob(filepath.Join(c.cfg.Dir, "*.json"))
	if err != nil {
		return fmt.Errorf("mtasts: cache directory: %w", err)
	}
	now := time.Now()
	for _, f := range files {
		p, err := readPolicy(f)
		domain := strings.TrimSuffix(filepath.Base(f), ".json")
		if err != nil || p.Expired(now) || !addr.HostName(domain) {
			_ = os.Remove(f)
			continue
		}
		c.mem[domain] = p
	}
	c.gauge.Set(float64(len(c.mem)))
	return nil
}

func readPolicy(path string) (*Policy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	p := &Policy{}
	return p, json.Unmarshal(b, p)
}

// store keeps p in memory, on disk and in the shared store.
func (c *Cache) store(domain string, p *Policy) {
	c.mu.Lock()
	c.mem[domain] = p
	c.checked[domain] = time.Now()
	c.gauge.Set(float64(len(c.mem)))
	c.mu.Unlock()
	if !addr.HostName(domain) {
		return
	}
	b, err := json.Marshal(p)
	if err == nil {
		c.saveShared(domain, p, b)
	}
	if c.cfg.Dir == "" {
		return
	}
	if err == nil {
		err = safeio.WriteFile(filepath.Join(c.cfg.Dir, domain+".json"), b, 0o600)
	}
	if err != nil {
		c.cfg.Logger.Warn("MTA-STS cache write failed", slog.String("error", err.Error()))
	}
}
