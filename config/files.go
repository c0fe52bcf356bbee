package config

import (
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/sealgate/sealgate/internal/pemkey"
)

// files checks that the files and folders the config names exist and hold
// what they should. Contents are never echoed in errors.
func (v *validator) files() {
	c := v.c
	v.certPair("tls", c.TLS)
	v.certPair("portal.tls", TLSFiles{Cert: c.Portal.TLS.Cert, Key: c.Portal.TLS.Key})
	for i, k := range c.DKIM {
		if k.Key != "" {
			v.dkimKey(fmt.Sprintf("dkim[%d].key", i), k.Key)
		}
	}
	v.dir("encryption.pgp.keyring", c.Encrypt.PGP.Keyring)
	v.readable("encryption.pgp.archive_key", c.Encrypt.PGP.ArchiveKey)
	v.readable("encryption.pgp.sign_key", c.Encrypt.PGP.SignKey)
	v.dir("encryption.smime.certs", c.Encrypt.SMIME.Certs)
	v.certPair("encryption.smime", TLSFiles{Cert: c.Encrypt.SMIME.SignCert, Key: c.Encrypt.SMIME.SignKey})
	v.caFile("delivery.tls.ca_file", c.Delivery.TLS.CAFile)
	v.readable("delivery.smarthost_auth.password_file", c.Delivery.SmarthostAuth.PasswordFile)
	v.readable("portal.branding.logo", c.Portal.Branding.Logo)
	v.certPair("api.tls", TLSFiles{Cert: c.API.TLS.Cert, Key: c.API.TLS.Key})
	v.certPair("cluster.tls", TLSFiles{Cert: c.Cluster.TLS.Cert, Key: c.Cluster.TLS.Key})
	v.caFile("cluster.tls.ca", c.Cluster.TLS.CA)
	v.readable("cluster.secret_file", c.Cluster.SecretFile)
	v.storeFiles()
	for i, w := range c.Webhooks {
		v.readable(fmt.Sprintf("webhooks[%d].secret_file", i), w.SecretFile)
		v.caFile(fmt.Sprintf("webhooks[%d].ca_file", i), w.CAFile)
	}

	if fi, err := os.Stat(c.DataDir); err == nil && !fi.IsDir() {
		v.addf("data_dir", "%s is not a directory", c.DataDir)
	}
}

// certPair loads a certificate and its key and checks that they match and
// that the certificate is current. With Generate, missing files are fine.
func (v *validator) certPair(prefix string, f TLSFiles) {
	certKey, keyKey := prefix+".cert", prefix+".key"
	if prefix == "encryption.smime" {
		certKey, keyKey = prefix+".sign_cert", prefix+".sign_key"
	}
	if f.Cert == "" || f.Key == "" {
		return
	}
	if f.Generate && missing(f.Cert) && missing(f.Key) {
		return
	}
	if !v.readable(certKey, f.Cert) || !v.readable(keyKey, f.Key) {
		return
	}
	pair, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		v.add(keyKey, err, "cannot use certificate and key together")
		return
	}
	if now := time.Now(); now.After(pair.Leaf.NotAfter) {
		v.addf(certKey, "certificate expired on %s", pair.Leaf.NotAfter.Format(time.DateOnly))
	}
}

// missing reports whether path does not exist.
func missing(path string) bool {
	_, err := os.Stat(path)
	return errors.Is(err, fs.ErrNotExist)
}

// readable checks that path, if set, is a regular file we can open.
func (v *validator) readable(key, path string) bool {
	if path == "" {
		return true
	}
	f, err := os.Open(path)
	if err != nil {
		v.add(key, err, "cannot read")
		return false
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		v.addf(key, "%s is not a regular file", path)
		return false
	}
	return true
}

// dir checks that path, if set, is a directory.
func (v *validator) dir(key, path string) {
	if path == "" {
		return
	}
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		v.add(key, err, "cannot use folder")
	case !fi.IsDir():
		v.addf(key, "%s is not a folder", path)
	}
}

// caFile checks that path, if set, holds at least one PEM certificate.
func (v *validator) caFile(key, path string) {
	if path == "" || !v.readable(key, path) {
		return
	}
	data, err := os.ReadFile(path)
	if err != nil {
		v.add(key, err, "cannot read")
		return
	}
	if !x509.NewCertPool().AppendCertsFromPEM(data) {
		v.addf(key, "%s holds no PEM certificate", path)
	}
}

// dkimKey checks that path holds an RSA (at least 1024 bits, RFC 8301) or
// Ed25519 (RFC 8463) private key in PEM.
func (v *validator) dkimKey(key, path string) {
	if !v.readable(key, path) {
		return
	}
	data, err := os.ReadFile(path)
	if err != nil {
		v.add(key, err, "cannot read")
		return
	}
	k, err := pemkey.Parse(data)
	if block, _ := pem.Decode(data); block == nil {
		v.addf(key, "%s is not a PEM file", path)
		return
	}
	if err != nil {
		k = nil // reported below as no usable key
	}
	switch k := k.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < 1024 {
			v.addf(key, "RSA key of %d bits is too short for DKIM (RFC 8301: at least 1024, 2048 recommended)", k.N.BitLen())
		}
	case ed25519.PrivateKey:
	default:
		v.addf(key, "%s holds no RSA or Ed25519 private key", path)
	}
}
