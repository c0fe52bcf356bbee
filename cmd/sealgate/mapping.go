package main

import (
	"github.com/sealgate/sealgate/config"
	"github.com/sealgate/sealgate/smtpd"
)

func listeners(cfg *config.Config) []smtpd.Listener {
	out := make([]smtpd.Listener, len(cfg.Listeners))
	for i, l := range cfg.Listeners {
		out[i] = smtpd.Listener{Name: l.Name, Address: l.Address, TLS: l.TLS, Auth: l.Auth}
	}
	return out
}

func clients(cfg *config.Config) []smtpd.Client {
	out := make([]smtpd.Client, len(cfg.Clients))
	for i, c := range cfg.Clients {
		out[i] = smtpd.Client{Name: c.Name, Username: c.Username, PasswordHash: c.PasswordHash,
			Networks: c.Networks, CertFingerprints: c.CertFingerprints, AllowedSenders: c.AllowedSenders,
			Marketing: c.Marketing(), CheckSuppression: c.CheckSuppression}
	}
	return out
}

func limits(cfg *config.Config) smtpd.Limits {
	l := cfg.Limits
	return smtpd.Limits{
		MaxMessageBytes: l.MaxMessageSize, MaxRecipients: l.MaxRecipients, MaxLineLength: l.MaxLineLength,
		CommandTimeout: l.CommandTimeout, DataTimeout: l.DataTimeout, SessionLifetime: l.SessionLifetime,
		MaxConns: l.MaxConnections, MaxConnsPerIP: l.MaxConnectionsPerClient, ConnsPerMinute: l.ConnectionsPerClientPerMin,
		MessagesPerMinute: l.MessagesPerClientPerMinute,
		MaxAuthFailures:   l.MaxAuthFailures,
	}
}
