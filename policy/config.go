package policy

import (
	"fmt"
	"strings"
	"time"

	"github.com/sealgate/sealgate/internal/mimelimit"
	"github.com/sealgate/sealgate/mail"
)

// Config is the policy section of sealgate's configuration.
type Config struct {
	// DefaultAction is "encrypt_if_phi" (the default), "encrypt_all" or "deliver".
	// With "deliver" messages without PHI go out as they are; PHI is still encrypted,
	// because no setting lets PHI leave in the clear.
	DefaultAction string
	// SubjectTags are the tags a sender writes in the Subject to ask for encryption
	// (default "[secure]" and "[encrypt]"), matched without regard to case. A tag found
	// raises the action to encrypt and is reported in Verdict.SubjectTag for removal.
	SubjectTags []string
	// Unreadable is the action for content that cannot be read (an undecodable charset,
	// an encrypted PDF, truncated base64, a limit hit): "encrypt" (default; the message
	// is treated as possibly PHI), "quarantine", "block" or "deliver" (ignore it).
	Unreadable mail.Action
	// Media says which image, audio and video parts count as unreadable (they hold no
	// text to read, and a photo or a scan of a lab report can be PHI):
	// "decoration" (default) lets through only decoration - an image in PNG, JPEG,
	// GIF, WebP, BMP or ICO, inline, referenced by an HTML body through cid:, at most
	// 64 KiB - and makes every other media part unreadable (reason "media");
	// "protect" makes every media part unreadable; "ignore" makes none unreadable, so
	// scans and photos leave as they are unless something else protects the message.
	Media string
	// Rules are evaluated in order. A matching rule can raise the protection of the
	// message, never lower it below what its PHI requires.
	Rules []Rule
	// Limits bound the reading of one message; zero fields take defaults.
	Limits Limits
}

// Limits bound the work spent on one message. Zero values take the defaults shown.
type Limits struct {
	MaxDepth        int           // MIME nesting, message/rfc822 included (default mimelimit.MaxDepth, 32)
	MaxParts        int           // MIME parts (default mimelimit.MaxParts, 1000, the portal's limit too)
	MaxDecodedBytes int64         // decoded bytes scanned over all parts (default 64 MiB)
	MaxPartBytes    int64         // decoded bytes of one part (default 32 MiB)
	MaxUnzipBytes   int64         // decompressed bytes of one attachment: zip, PDF (default 32 MiB)
	MaxZipEntries   int           // entries in one archive (default 2000)
	MaxXMLDepth     int           // element nesting of XML and JSON (default 256)
	MaxTime         time.Duration // wall time of one check (default 20s)
}

func (l Limits) withDefaults() Limits {
	def := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	defInt := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defInt(&l.MaxDepth, mimelimit.MaxDepth)
	defInt(&l.MaxParts, mimelimit.MaxParts)
	def(&l.MaxDecodedBytes, 64<<20)
	def(&l.MaxPartBytes, 32<<20)
	def(&l.MaxUnzipBytes, 32<<20)
	defInt(&l.MaxZipEntries, 2000)
	defInt(&l.MaxXMLDepth, 256)
	if l.MaxTime <= 0 {
		l.MaxTime = 20 * time.Second
	}
	return l
}

// Rule raises the action for messages matching its condition.
type Rule struct {
	Name string
	If   Condition
	Then Action
}

// Condition matches a message. Every non-empty field must match. Sender, Client and
// RecipientDomain accept shell-style globs ("*@news.example.org", "*.partner.org").
type Condition struct {
	SubjectTag      string // a tag present in the Subject, e.g. "[secure]"
	RecipientDomain string // the domain of any recipient
	Sender          string // the envelope sender
	Client          string // the name of the authenticated client
	Header          string // "Name: value", case-insensitive; value may be a glob
}

// Action is what a rule asks for.
type Action struct {
	Action mail.Action // deliver, encrypt, block or quarantine
	Method mail.Method // "", pgp, smime, tls or portal: force an encryption method
}

// Actions in increasing order of protection.
const (
	ActionDeliver    = mail.ActionDeliver
	ActionEncrypt    = mail.ActionEncrypt
	ActionQuarantine = mail.ActionQuarantine
	ActionBlock      = mail.ActionBlock
)

// Media settings (Config.Media).
const (
	MediaDecoration = "decoration"
	MediaProtect    = "protect"
	MediaIgnore     = "ignore"
)

// Default actions.
const (
	DefaultEncryptIfPHI = "encrypt_if_phi"
	DefaultEncryptAll   = "encrypt_all"
	DefaultDeliver      = "deliver"
)

// level orders actions by protection; unknown actions are -1.
func level(action mail.Action) int {
	switch action {
	case ActionDeliver:
		return 0
	case ActionEncrypt:
		return 1
	case ActionQuarantine:
		return 2
	case ActionBlock:
		return 3
	}
	return -1
}

func (c Config) withDefaults() Config {
	if c.DefaultAction == "" {
		c.DefaultAction = DefaultEncryptIfPHI
	}
	if c.SubjectTags == nil {
		c.SubjectTags = []string{"[secure]", "[encrypt]"}
	}
	if c.Unreadable == "" {
		c.Unreadable = ActionEncrypt
	}
	if c.Media == "" {
		c.Media = MediaDecoration
	}
	c.Limits = c.Limits.withDefaults()
	return c
}

func (c Config) validate() error {
	switch c.DefaultAction {
	case DefaultEncryptIfPHI, DefaultEncryptAll, DefaultDeliver:
	default:
		return fmt.Errorf("policy: default_action %q: want encrypt_if_phi, encrypt_all or deliver", c.DefaultAction)
	}
	if level(c.Unreadable) < 0 {
		return fmt.Errorf("policy: unreadable action %q: want deliver, encrypt, quarantine or block", c.Unreadable)
	}
	switch c.Media {
	case MediaDecoration, MediaProtect, MediaIgnore:
	default:
		return fmt.Errorf("policy: media %q: want decoration, protect or ignore", c.Media)
	}
	for _, t := range c.SubjectTags {
		if strings.TrimSpace(t) == "" {
			return fmt.Errorf("policy: empty subject tag")
		}
	}
	for i, r := range c.Rules {
		if err := r.validate(); err != nil {
			return fmt.Errorf("policy: rule %d (%s): %w", i+1, r.Name, err)
		}
	}
	return nil
}

func (r Rule) validate() error {
	if level(r.Then.Action) < 0 {
		return fmt.Errorf("action %q: want deliver, encrypt, quarantine or block", r.Then.Action)
	}
	switch r.Then.Method {
	case "", "pgp", "smime", "tls", "portal":
	default:
		return fmt.Errorf("method %q: want pgp, smime, tls or portal", r.Then.Method)
	}
	if r.Then.Method != "" && r.Then.Action != ActionEncrypt {
		return fmt.Errorf("a method needs the encrypt action")
	}
	c := r.If
	if c.SubjectTag == "" && c.RecipientDomain == "" && c.Sender == "" && c.Client == "" && c.Header == "" {
		return fmt.Errorf("empty condition")
	}
	if c.Header != "" && !strings.Contains(c.Header, ":") {
		return fmt.Errorf("header condition must read \"Name: value\"")
	}
	return nil
}
