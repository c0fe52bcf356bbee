package mtasts

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/sealgate/sealgate/addr"
)

// SharedPolicies keeps policies where every node of a cluster sees them
// (sealgate's shared store), so a node that starts on an empty volume
// knows, from its first delivery, the policies the others learned: trust
// on first use (RFC 8461 §5.1) then holds for the cluster, not per node.
type SharedPolicies interface {
	// MTASTSPolicies returns the policies that have not expired, as the
	// JSON the cache writes, by domain.
	MTASTSPolicies(ctx context.Context) (map[string][]byte, error)
	// SaveMTASTSPolicy keeps domain's policy until expires, unless a
	// policy that expires later is kept already.
	SaveMTASTSPolicy(ctx context.Context, domain string, policy []byte, expires time.Time) error
}

// sharedTimeout bounds one read or write of the shared policies.
const sharedTimeout = 5 * time.Second

// loadShared merges the shared policies into memory: a domain's policy is
// taken when this node has none or fetched it earlier. A store that cannot
// be read leaves what this node knows (its files) in force.
func (c *Cache) loadShared(ctx context.Context) {
	if c.cfg.Shared == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, sharedTimeout)
	defer cancel()
	all, err := c.cfg.Shared.MTASTSPolicies(ctx)
	if err != nil {
		c.cfg.Logger.Warn("shared MTA-STS policies unavailable; this node's cache applies", slog.String("error", err.Error()))
		return
	}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for domain, b := range all {
		p := &Policy{}
		if json.Unmarshal(b, p) != nil || p.Expired(now) || !addr.HostName(domain) {
			continue
		}
		if have := c.mem[domain]; have == nil || have.Fetched.Before(p.Fetched) {
			c.mem[domain] = p
		}
	}
	c.gauge.Set(float64(len(c.mem)))
}

// saveShared writes one policy to the shared store.
func (c *Cache) saveShared(domain string, p *Policy, b []byte) {
	if c.cfg.Shared == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	if err := c.cfg.Shared.SaveMTASTSPolicy(ctx, domain, b, p.Fetched.Add(p.MaxAge)); err != nil {
		c.cfg.Logger.Warn("MTA-STS policy not written to the shared store", slog.String("error", err.Error()))
	}
}
