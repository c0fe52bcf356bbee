package queue

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// metaVersion is the version of the envelope and state JSON documents.
const metaVersion = 1

// RcptStatus is where one recipient stands.
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
	// passages and numbers stripped (mail.ReplyText).
	RemoteText string    `json:"remote_text,omitempty"`
	RemoteMTA  string    `json:"remote_mta,omitempty"`
	TLSVersion string    `json:"tls_version,omitempty"`
	TLSCipher  string    `json:"tls_cipher,omitempty"`
	TLSVerify  string    `json:"tls_verification,omitempty"` // dane, mta-sts, pinned, pkix, none or ""
	Method     string    `json:"method,omitempty"`           // protection used: pgp, smime, tls, portal, none
	DSNPassed  bool      `json:"dsn_passed,omitempty"`       // NOTIFY went on to a next hop that announced DSN
	Updated    time.Time `json:"updated,omitempty"`
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

func newState(env *Envelope, now time.Time) *State {
	st := &State{Version: metaVersion, NextAttempt: now, Held: env.Hold}
	for _, r := range env.Rcpts {
		st.Rcpts = append(st.Rcpts, RcptState{Addr: r.Addr, Status: StatusPending})
	}
	return st
}

func (s *State) clone() *State {
	c := *s
	c.Rcpts = append([]RcptState(nil), s.Rcpts...)
	return &c
}

// pending reports whether any recipient still waits for delivery.
func (s *State) pending() bool {
	for _, r := range s.Rcpts {
		if r.Status == StatusPending {
			return true
		}
	}
	return false
}

// isDamaged reports whether err means a spool record itself is bad: it
// failed authentication, or its content does not decode. Only such a
// record is quarantined; any other failure to read it is retried later.
func isDamaged(err error) bool {
	return errors.Is(err, errCorrupt)
}

func decodeEnvelope(b []byte) (*Envelope, error) {
	var env Envelope
	if err := json.Unmarshal(b, &env); err != nil {
		return nil, fmt.Errorf("%w: envelope: %w", errCorrupt, err)
	}
	if env.Version != metaVersion {
		return nil, fmt.Errorf("%w: envelope: unsupported version %d", errCorrupt, env.Version)
	}
	if len(env.Rcpts) == 0 {
		return nil, fmt.Errorf("%w: envelope: no recipients", errCorrupt)
	}
	return &env, nil
}

func decodeState(b []byte, env *Envelope) (*State, error) {
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%w: state: %w", errCorrupt, err)
	}
	if st.Version != metaVersion || len(st.Rcpts) != len(env.Rcpts) {
		return nil, fmt.Errorf("%w: state: unsupported version or recipient mismatch", errCorrupt)
	}
	return &st, nil
}
