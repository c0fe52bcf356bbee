package mail

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"syscall"
	"time"
)

// NewID returns a fresh queue ID: 12 hex digits of time then 12 random.
// smtpd names a message with it before the spool holds it (its log lines
// and its 250 reply carry it).
func NewID() string {
	var b [12]byte
	ms := uint64(time.Now().UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	rand.Read(b[6:])
	return hex.EncodeToString(b[:])
}

// Errors of the spool, as every stage that hands it mail or asks it about
// mail matches them (errors.Is).
var (
	// ErrQueueClosed: the spool takes no more mail (shutting down).
	ErrQueueClosed = errors.New("queue closed")
	// ErrNoSuchMessage: no queued message has that ID.
	ErrNoSuchMessage = errors.New("no such message")
	// ErrNotHeld: the message is not held by policy, so there is
	// nothing to release or show.
	ErrNotHeld = errors.New("not held by policy")
	// ErrInsufficientStorage is matched by every error the spool returns
	// because its file system is full, over quota, failing or read-only,
	// and by its refusal of new mail below its free-space reserve. smtpd
	// answers it with 452 4.3.1; the sender retries later.
	ErrInsufficientStorage = errors.New("insufficient system storage")
)

// IsInsufficientStorage reports whether err comes from a file system that
// cannot take more data: ErrInsufficientStorage, or ENOSPC, EDQUOT, EIO,
// EROFS or EFBIG anywhere in its chain.
func IsInsufficientStorage(err error) bool {
	if errors.Is(err, ErrInsufficientStorage) {
		return true
	}
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return false
	}
	switch errno {
	case syscall.ENOSPC, syscall.EDQUOT, syscall.EIO, syscall.EROFS, syscall.EFBIG:
		return true
	}
	return false
}

// RcptStatus is where one recipient of a queued message stands.
type RcptStatus string

// Recipient states. Delivered and Failed are terminal.
const (
	StatusPending   RcptStatus = "pending"
	StatusDelivered RcptStatus = "delivered"
	StatusFailed    RcptStatus = "failed"
)

// RcptState is the mutable per-recipient part of a queued message.
type RcptState struct {
	Addr      string     `json:"addr"`
	Status    RcptStatus `json:"status"`
	Attempts  int        `json:"attempts"`
	LastError string     `json:"last_error,omitempty"` // remote reply or error class, never message content
	Code      int        `json:"code,omitempty"`
	Enhanced  string     `json:"enhanced,omitempty"`
	// RemoteText is the remote reply's text with addresses, quoted
	// passages and numbers stripped (ReplyText).
	RemoteText string `json:"remote_text,omitempty"`
	// LocalReason is sealgate's own reason for a failure it decided
	// itself (mail.LocalReason), for the DSN.
	LocalReason string    `json:"local_reason,omitempty"`
	RemoteMTA   string    `json:"remote_mta,omitempty"`
	TLSVersion  string    `json:"tls_version,omitempty"`
	TLSCipher   string    `json:"tls_cipher,omitempty"`
	TLSVerify   string    `json:"tls_verification,omitempty"` // dane, mta-sts, pinned, pkix, none or ""
	Method      string    `json:"method,omitempty"`           // protection used: pgp, smime, tls, portal, none
	DSNPassed   bool      `json:"dsn_passed,omitempty"`       // NOTIFY went on to a next hop that announced DSN
	Updated     time.Time `json:"updated,omitempty"`
}

// State is the mutable part of a queued message, rewritten after attempts.
type State struct {
	Version     int         `json:"v"`
	Attempts    int         `json:"attempts"`
	NextAttempt time.Time   `json:"next_attempt"`
	Rcpts       []RcptState `json:"rcpts"`
	// DSNDone is set, durably, once the bounce for failed recipients has
	// been queued, so it is sent once even across a crash.
	DSNDone bool `json:"dsn_done,omitempty"`
	// Held messages wait for `sealgate queue retry ID` and are not delivered.
	Held bool `json:"held,omitempty"`
}

// Clone returns a copy of s that shares nothing with it.
func (s *State) Clone() *State {
	c := *s
	c.Rcpts = slices.Clone(s.Rcpts)
	return &c
}

// Pending reports whether any recipient still waits for delivery.
func (s *State) Pending() bool {
	for _, r := range s.Rcpts {
		if r.Status == StatusPending {
			return true
		}
	}
	return false
}

// Info describes a queued message for operators: envelope and state,
// never the body.
type Info struct {
	ID       string        `json:"id"`
	From     string        `json:"from"`
	Received time.Time     `json:"received"`
	Client   string        `json:"client"`
	Size     int           `json:"size,omitempty"`
	Policy   PolicySummary `json:"policy"`
	Held     bool          `json:"held"`
	State    State         `json:"state"`
	Running  bool          `json:"running"`
}
