package mail

import (
	"errors"
	"testing"
)

// Only DANE, MTA-STS and a pinned hop authenticate the next hop end to end.
func TestVerificationAuthenticated(t *testing.T) {
	want := map[Verification]bool{VerifiedDANE: true, VerifiedMTASTS: true, VerifiedPinned: true,
		VerifiedPKIX: false, VerifiedNone: false, "": false, "DANE": false}
	for v, w := range want {
		if v.Authenticated() != w {
			t.Errorf("%q.Authenticated() = %v, want %v", v, !w, w)
		}
	}
}

// The words are the configuration's and the audit log's: they must not
// change.
func TestWords(t *testing.T) {
	got := []string{string(ActionDeliver), string(ActionEncrypt), string(ActionQuarantine), string(ActionBlock),
		string(MethodPGP), string(MethodSMIME), string(MethodTLS), string(MethodPortal), string(MethodNone),
		ReachUnknown.String(), ReachYes.String(), ReachNo.String()}
	want := []string{"deliver", "encrypt", "quarantine", "block", "pgp", "smime", "tls", "portal", "none",
		"unknown", "yes", "no"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("word %d = %q, want %q", i, got[i], want[i])
		}
	}
}

func TestOutcomeResult(t *testing.T) {
	fail := errors.New("451")
	cases := map[Result]Outcome{
		ResultDelivered: {},
		ResultBounced:   {Err: fail, Permanent: true},
		ResultDeferred:  {Err: fail},
	}
	for want, o := range cases {
		if got := o.Result(); got != want {
			t.Errorf("%+v: %q, want %q", o, got, want)
		}
	}
	if (Outcome{Permanent: true}).Result() != ResultDelivered {
		t.Error("Permanent without an error is not a bounce")
	}
}
