package delivery

import (
	"context"
	"crypto/x509"
	"errors"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sealgate/sealgate/dnsclient"
	"github.com/sealgate/sealgate/mtasts"
	"github.com/sealgate/sealgate/tlsrpt"
)

// The stateful parts satisfy the interfaces Config takes.
var (
	_ SecureResolver = (*dnsclient.Resolver)(nil)
	_ STSPolicies    = (*mtasts.Cache)(nil)
	_ TLSRecorder    = (*tlsrpt.Store)(nil)
)

// VerifiedConfig is what verified transport needs from the configuration
// (delivery.dns, delivery.tls and the data directory).
type VerifiedConfig struct {
	// DNSServers and TrustAD are delivery.dns.servers and .trust_ad.
	DNSServers []string
	TrustAD    bool
	// RootCAs are system roots plus delivery.tls.ca_file (nil: system),
	// for the MTA-STS policy fetch; pass the same pool as Config.RootCAs.
	RootCAs *x509.CertPool
	// MTASTSDir keeps MTA-STS policies across restarts (e.g.
	// <data_dir>/mta-sts); "" keeps them in memory.
	MTASTSDir string
	// MTASTSShared, when set, also keeps MTA-STS policies in the store
	// several nodes share (mtasts.Config.Shared).
	MTASTSShared mtasts.SharedPolicies
	// Reports keeps TLS results for RFC 8460 reports, in ReportDir (e.g.
	// <data_dir>/tlsrpt; "" keeps them in memory).
	Reports   bool
	ReportDir string
	// ReportShared, when set, is the store several nodes share, where
	// they add up their TLS results and claim each day's reports
	// (tlsrpt.StoreConfig.Shared).
	ReportShared tlsrpt.Shared
	// Registerer and Logger as in Config.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// Verified holds the parts of verified transport that own state: the
// resolver, the MTA-STS cache with its refresher and the TLS report store.
// Construct it with NewVerified, set a Config with Apply, Start it, and
// Close it after the Client.
type Verified struct {
	Resolver *dnsclient.Resolver
	MTASTS   *mtasts.Cache
	Reports  *tlsrpt.Store // nil unless VerifiedConfig.Reports
	trustAD  bool
}

// NewVerified makes the resolver, the MTA-STS cache and (if asked) the
// report store.
func NewVerified(cfg VerifiedConfig) (*Verified, error) {
	res, err := dnsclient.New(dnsclient.Config{Servers: cfg.DNSServers, TrustAD: cfg.TrustAD})
	if err != nil {
		return nil, err
	}
	v := &Verified{Resolver: res, trustAD: cfg.TrustAD}
	v.MTASTS, err = mtasts.NewCache(mtasts.Config{Dir: cfg.MTASTSDir, Resolver: res, RootCAs: cfg.RootCAs,
		Registerer: cfg.Registerer, Logger: cfg.Logger, Shared: cfg.MTASTSShared})
	if err != nil {
		return nil, err
	}
	if cfg.Reports {
		if v.Reports, err = tlsrpt.NewStore(tlsrpt.StoreConfig{Dir: cfg.ReportDir, Logger: cfg.Logger, Shared: cfg.ReportShared}); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// Apply points c at the resolver, the MTA-STS cache and the report store,
// and turns DANE on for every domain when the resolver's AD bit is
// trusted (RFC 7672 asks DANE-capable senders to use it wherever it is
// published).
func (v *Verified) Apply(c *Config) {
	c.Resolver, c.MTASTS, c.DANE = v.Resolver, v.MTASTS, v.trustAD
	if v.Reports != nil {
		c.TLSReports = v.Reports
	}
}

// Start runs the MTA-STS refresher until ctx ends or Close.
func (v *Verified) Start(ctx context.Context) { v.MTASTS.Start(ctx) }

// Close stops the refresher and closes the report store.
func (v *Verified) Close() error {
	err := v.MTASTS.Close()
	if v.Reports != nil {
		err = errors.Join(err, v.Reports.Close())
	}
	return err
}
