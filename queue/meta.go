package queue

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sealgate/sealgate/mail"
)

// metaVersion is the version of the envelope and state JSON documents.
const metaVersion = 1

// The recipient and message states the spool records, as the vocabulary
// names them.
type (
	RcptStatus = mail.RcptStatus
	RcptState  = mail.RcptState
	State      = mail.State
)

// Recipient states. Delivered and Failed are terminal.
const (
	StatusPending   = mail.StatusPending
	StatusDelivered = mail.StatusDelivered
	StatusFailed    = mail.StatusFailed
)

func newState(env *Envelope, now time.Time) *State {
	st := &State{Version: metaVersion, NextAttempt: now, Held: env.Hold}
	for _, r := range env.Rcpts {
		st.Rcpts = append(st.Rcpts, RcptState{Addr: r.Addr, Status: StatusPending})
	}
	return st
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
