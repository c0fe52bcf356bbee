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

func newState(env *mail.Envelope, now time.Time) *mail.State {
	st := &mail.State{Version: metaVersion, NextAttempt: now, Held: env.Hold}
	for _, r := range env.Rcpts {
		st.Rcpts = append(st.Rcpts, mail.RcptState{Addr: r.Addr, Status: mail.StatusPending})
	}
	return st
}

// isDamaged reports whether err means a spool record itself is bad: it
// failed authentication, or its content does not decode. Only such a
// record is quarantined; any other failure to read it is retried later.
func isDamaged(err error) bool {
	return errors.Is(err, errCorrupt)
}

func decodeEnvelope(b []byte) (*mail.Envelope, error) {
	var env mail.Envelope
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

func decodeState(b []byte, env *mail.Envelope) (*mail.State, error) {
	var st mail.State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%w: state: %w", errCorrupt, err)
	}
	if st.Version != metaVersion || len(st.Rcpts) != len(env.Rcpts) {
		return nil, fmt.Errorf("%w: state: unsupported version or recipient mismatch", errCorrupt)
	}
	return &st, nil
}
