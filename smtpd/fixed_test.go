package smtpd

import "context"

// fixedVerdict is a policy that always answers the same.
type fixedVerdict struct{ v Verdict }

func (f fixedVerdict) Check(context.Context, []byte, PolicyInput) (Verdict, error) { return f.v, nil }

// panicPolicy panics on every message.
type panicPolicy struct{}

func (panicPolicy) Check(context.Context, []byte, PolicyInput) (Verdict, error) {
	panic("policy bug")
}
