package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sealgate/sealgate/config"
	"github.com/sealgate/sealgate/encrypt"
	"github.com/sealgate/sealgate/encrypt/keydir"
	"github.com/sealgate/sealgate/encrypt/pgp"
	"github.com/sealgate/sealgate/encrypt/portalbox"
	"github.com/sealgate/sealgate/encrypt/smime"
	"github.com/sealgate/sealgate/mail"
)

// keyReloadInterval is how often the key folders are checked for changes.
const keyReloadInterval = 30 * time.Second

// newProtector returns the courier that protects each recipient before
// delivery (per encryption.order), wrapping next. close releases what it
// holds: the key-folder watcher.
//
// store is where portal pickups go: the pickup site's store, which the
// gateway opens; it must not be nil when the portal is a method, and
// notices, the spool that takes their notifications, neither. dest is
// what delivery knows of each destination's TLS (nil: nothing). consents is
// the register of patients' consents to unencrypted mail (nil: none).
func newProtector(cfg *config.Config, log *slog.Logger, reg prometheus.Registerer, next mail.Courier, store portalbox.Store,
	notices mail.Submitter, dest mail.Destinations, consents encrypt.Consents) (mail.Courier, *protectHandle, error) {
	smime.Init()
	b := &protectBuilder{cfg: cfg, log: log, now: time.Now(), store: store, notices: notices}
	ec, err := b.build()
	if err != nil {
		b.close()
		return nil, nil, err
	}
	ec.Next, ec.Logger, ec.Registerer, ec.Destinations, ec.Consents = next, log, reg, dest, consents
	c, err := encrypt.New(ec)
	if err != nil {
		b.close()
		return nil, nil, err
	}
	if len(b.reload) > 0 {
		w := encrypt.Watch(keyReloadInterval, log, b.reload...)
		b.closers = append(b.closers, w.Close)
	}
	return c, &protectHandle{b: b}, nil
}

// protectHandle is the protection layer's lifecycle: Reload re-reads the
// key folders now (SIGHUP), Close releases the watcher and the store.
type protectHandle struct{ b *protectBuilder }

// Reload reloads every key folder that changed.
func (h *protectHandle) Reload() { encrypt.ReloadAll(time.Now(), h.b.log, h.b.reload...) }

// Close releases what the protection layer holds.
func (h *protectHandle) Close() { h.b.close() }

// protectBuilder loads what the encryption layer needs from the config and
// remembers what must be closed.
type protectBuilder struct {
	cfg     *config.Config
	log     *slog.Logger
	now     time.Time
	reload  []encrypt.Reloader
	closers []func()
	store   portalbox.Store
	notices mail.Submitter
}

func (b *protectBuilder) close() {
	for i := len(b.closers) - 1; i >= 0; i-- {
		b.closers[i]()
	}
}

func (b *protectBuilder) build() (encrypt.Config, error) {
	e := b.cfg.Encrypt
	notice, err := b.notice()
	if err != nil {
		return encrypt.Config{}, err
	}
	ec := encrypt.Config{Order: e.Order, Subject: e.Subject, AcceptPKIX: e.TLSAcceptPKIX, Notice: notice}
	if err := b.pgp(&ec); err != nil {
		return ec, err
	}
	if err := b.smime(&ec); err != nil {
		return ec, err
	}
	return ec, b.portal(&ec)
}

// notice shapes the portal notification from the portal's branding,
// language and time zone.
func (b *protectBuilder) notice() (encrypt.Notice, error) {
	p := b.cfg.Portal
	zone, err := portalZone(p.TimeZone)
	if err != nil {
		return encrypt.Notice{}, err
	}
	brand, err := portalBranding(p.Branding)
	if err != nil {
		return encrypt.Notice{}, err
	}
	return encrypt.Notice{
		Subject: b.cfg.Encrypt.PortalSubject, Organization: p.Branding.Organization,
		BaseURL: p.BaseURL, TTL: p.MessageTTL, Hostname: b.cfg.Hostname,
		Language: p.Language, Location: zone, Color: p.Branding.Color,
		SupportPhone: p.Branding.SupportPhone, SupportEmail: p.Branding.SupportEmail, Support: p.Branding.Support,
		Logo: brand.Logo, LogoType: brand.LogoType,
	}, nil
}

// pgp loads the keyring, WKD, the archive key and the signing key.
func (b *protectBuilder) pgp(ec *encrypt.Config) error {
	p := b.cfg.Encrypt.PGP
	if p.Keyring != "" {
		kr, err := pgp.LoadKeyring(p.Keyring, b.now, b.log)
		if err != nil {
			return fmt.Errorf("encryption.pgp.keyring: %w", err)
		}
		ec.Keyring = kr
		b.reload = append(b.reload, kr)
	}
	if p.WKD {
		client, err := b.wkdHTTP()
		if err != nil {
			return err
		}
		ec.WKD = pgp.NewWKDClient(pgp.WKDConfig{Client: client, Log: b.log})
	}
	if p.ArchiveKey != "" {
		k, err := loadArchiveKey(p.ArchiveKey, b.now)
		if err != nil {
			return fmt.Errorf("encryption.pgp.archive_key: %w", err)
		}
		ec.PGPArchive = k
	}
	if p.SignKey != "" {
		k, err := pgp.LoadSigningKey(p.SignKey, nil, b.now)
		if err != nil {
			return fmt.Errorf("encryption.pgp.sign_key: %w", err)
		}
		ec.PGPSigner = k
	}
	return nil
}

// wkdHTTP is the client for WKD lookups: a timeout, verified TLS, and the
// extra roots of delivery.tls.ca_file.
func (b *protectBuilder) wkdHTTP() (*http.Client, error) {
	roots, err := rootCAs(b.cfg.Delivery.TLS.CAFile)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	return &http.Client{Timeout: 10 * time.Second, Transport: tr}, nil
}

// loadArchiveKey reads the organisation's public key that can decrypt
// every PGP message; it must be able to encrypt now.
func loadArchiveKey(path string, now time.Time) (*openpgp.Entity, error) {
	data, err := keydir.Read(path)
	if err != nil {
		return nil, err
	}
	list, err := pgp.ParseKeys(data)
	if err != nil {
		return nil, err
	}
	if len(list) != 1 {
		return nil, fmt.Errorf("file holds %d keys, want 1", len(list))
	}
	if _, ok := list[0].EncryptionKey(now); !ok {
		return nil, errors.New("key cannot encrypt (expired, revoked or no encryption subkey)")
	}
	if w := pgp.Weakness(list[0], now); w != "" {
		return nil, fmt.Errorf("key too weak for PHI: %s", w)
	}
	return list[0], nil
}

// smime loads the certificate store and the signing identity.
func (b *protectBuilder) smime(ec *encrypt.Config) error {
	s := b.cfg.Encrypt.SMIME
	if s.Certs != "" {
		cs, err := smime.LoadCertStore(s.Certs, b.now, b.log)
		if err != nil {
			return fmt.Errorf("encryption.smime.certs: %w", err)
		}
		ec.Certs = cs
		b.reload = append(b.reload, cs)
	}
	if s.SignCert != "" {
		sg, err := smime.LoadSigner(s.SignCert, s.SignKey)
		if err != nil {
			return fmt.Errorf("encryption.smime.sign_cert: %w", err)
		}
		ec.SMIMESigner = sg
	}
	return nil
}

// portal hands the encryptor the pickup store when the portal is a method
// (encryption.order or a rule). The store is the pickup site's own (the
// gateway opens it); without one, a message meant for pickup would have
// nowhere to go, so that is an error rather than a store of some other kind.
func (b *protectBuilder) portal(ec *encrypt.Config) error {
	if !usesPortal(b.cfg) {
		return nil
	}
	if b.store == nil || b.notices == nil {
		return errors.New("encryption: the portal is a protection method but no pickup store is open")
	}
	ec.Portal, ec.Notices = b.store, b.notices
	return nil
}

// usesPortal reports whether messages can be left for pickup: the portal
// is in encryption.order or a rule forces it.
func usesPortal(cfg *config.Config) bool {
	return slices.Contains(cfg.Encrypt.Order, config.MethodPortal) ||
		slices.ContainsFunc(cfg.Policy.Rules, func(r config.Rule) bool { return r.Then.Method == config.MethodPortal })
}
