// Package dkim signs outgoing mail with DKIM (RFC 6376) for the domain of
// its From header, relaxed/relaxed, with RSA (2048 bits or more) or Ed25519
// (RFC 8463) keys, and makes new keys with their DNS records.
package dkim

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"sort"
	"strings"

	msgdkim "github.com/emersion/go-msgauth/dkim"

	"github.com/sealgate/sealgate/addr"
	"github.com/sealgate/sealgate/mailtext"
)

// ErrNoFrom is returned for a message without exactly one parseable From
// field. It carries no message content.
var ErrNoFrom = errors.New("dkim: message has no single parseable From field")

// ErrMalformed is returned for a message header that cannot be parsed.
var ErrMalformed = errors.New("dkim: malformed message header")

// signedKeys are the header fields signed when present, each as often as it
// occurs. From is signed once more than it occurs ("oversigned", RFC 6376
// §8.15) so that no From can be added.
var signedKeys = []string{
	"From", "To", "Cc", "Subject", "Date", "Message-ID", "Reply-To", "MIME-Version",
	"Content-Type", "Content-Transfer-Encoding", "In-Reply-To", "References",
	"List-Unsubscribe", "List-Unsubscribe-Post", // RFC 8058 §4: must be signed
}

// KeyConfig names one signing key.
type KeyConfig struct {
	Domain   string // signing domain (d=)
	Selector string // selector (s=)
	KeyPath  string // PEM private key, see LoadKey
}

type signingKey struct {
	domain, selector string
	signer           crypto.Signer
}

// Signer signs messages with the key for their From domain. It is safe for
// concurrent use.
type Signer struct {
	keys map[string]signingKey // by lower-case domain
}

// NewSigner loads every configured key. A missing, unreadable, weak or
// duplicate key is an error.
func NewSigner(cfgs []KeyConfig) (*Signer, error) {
	s := &Signer{keys: make(map[string]signingKey, len(cfgs))}
	for _, c := range cfgs {
		d := strings.ToLower(strings.TrimSuffix(c.Domain, "."))
		if !addr.HostName(d) || !addr.HostName(c.Selector) {
			return nil, fmt.Errorf("dkim: key for %q: domain and selector must be DNS names", c.Domain)
		}
		if _, dup := s.keys[d]; dup {
			return nil, fmt.Errorf("dkim: two keys for domain %s", d)
		}
		k, err := LoadKey(c.KeyPath)
		if err != nil {
			return nil, fmt.Errorf("%w (domain %s)", err, d)
		}
		s.keys[d] = signingKey{domain: d, selector: c.Selector, signer: k}
	}
	return s, nil
}

// Domains returns the signing domains, sorted, for configuration checks
// and logs.
func (s *Signer) Domains() []string {
	out := make([]string, 0, len(s.keys))
	for d := range s.keys {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

// Sign returns msg with a DKIM-Signature field prepended, signed with the
// key of the From domain or, failing that, of its nearest parent domain that
// has a key (aligned for DMARC). Without such a key msg is returned
// unchanged. Bare LF line endings are turned into CRLF first, so the result
// is what goes on the wire.
func (s *Signer) Sign(msg []byte) ([]byte, error) {
	msg = mailtext.ToCRLF(msg)
	h, err := readHeader(msg)
	if err != nil {
		return nil, err
	}
	domain, err := fromDomain(h)
	if err != nil {
		return nil, err
	}
	key, ok := s.keyFor(domain)
	if !ok {
		return msg, nil
	}
	opts := &msgdkim.SignOptions{
		Domain: key.domain, Selector: key.selector, Signer: key.signer,
		HeaderCanonicalization: msgdkim.CanonicalizationRelaxed,
		BodyCanonicalization:   msgdkim.CanonicalizationRelaxed,
		HeaderKeys:             headerKeys(h),
	}
	var out bytes.Buffer
	out.Grow(len(msg) + 1024)
	if err := msgdkim.Sign(&out, bytes.NewReader(msg), opts); err != nil {
		return nil, fmt.Errorf("dkim: sign: %w", err)
	}
	return out.Bytes(), nil
}

// keyFor returns the key of domain or of its nearest parent.
func (s *Signer) keyFor(domain string) (signingKey, bool) {
	for d := domain; strings.Contains(d, "."); {
		if k, ok := s.keys[d]; ok {
			return k, true
		}
		_, d, _ = strings.Cut(d, ".")
	}
	return signingKey{}, false
}

// readHeader reads the header of a CRLF message through the one parser
// (mailtext.ParseHeader), within the limits every reader shares.
func readHeader(msg []byte) (*mailtext.Header, error) {
	h, err := mailtext.ParseHeader(msg)
	if err != nil {
		return nil, fmt.Errorf("%w (%w)", ErrMalformed, err) // neither quotes the message
	}
	return &h, nil
}

// fromDomain returns the lower-case domain of the first From mailbox.
func fromDomain(h *mailtext.Header) (string, error) {
	if h.Count("From") != 1 {
		return "", ErrNoFrom
	}
	p := mail.AddressParser{WordDecoder: &mime.WordDecoder{
		// Only the domain matters: leave undecodable display names alone.
		CharsetReader: func(_ string, r io.Reader) (io.Reader, error) { return r, nil },
	}}
	list, err := p.ParseList(h.Get("From"))
	if err != nil || len(list) == 0 {
		return "", ErrNoFrom
	}
	dom := addr.DomainOf(list[0].Address)
	if dom == "" {
		return "", ErrNoFrom
	}
	return dom, nil
}

// headerKeys lists the fields to sign: each present field of signedKeys as
// often as it occurs, and From once more.
func headerKeys(h *mailtext.Header) []string {
	var keys []string
	for _, k := range signedKeys {
		for i := h.Count(k); i > 0; i-- {
			keys = append(keys, k)
		}
	}
	// Oversign the unsubscribe fields too when present, so that nobody can
	// add a second List-Unsubscribe pointing elsewhere.
	for _, k := range []string{"List-Unsubscribe", "List-Unsubscribe-Post"} {
		if h.Index(k) >= 0 {
			keys = append(keys, k)
		}
	}
	return append(keys, "From")
}
