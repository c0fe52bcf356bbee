package main

import (
	"context"
	"fmt"

	"github.com/sealgate/sealgate/config"
	"github.com/sealgate/sealgate/mail"
	"github.com/sealgate/sealgate/policy"
	"github.com/sealgate/sealgate/smtpd"
)

// newPolicy builds the policy engine from the policy section.
func newPolicy(cfg *config.Config) (*policy.Engine, error) {
	p := cfg.Policy
	pc := policy.Config{
		DefaultAction: p.DefaultAction, SubjectTags: p.SubjectTags, Unreadable: mail.Action(p.Unreadable), Media: p.Scan.Media,
		Limits: policy.Limits{
			MaxDepth: p.Scan.MaxDepth, MaxParts: p.Scan.MaxParts, MaxDecodedBytes: p.Scan.MaxDecodedBytes,
			MaxPartBytes: p.Scan.MaxPartBytes, MaxUnzipBytes: p.Scan.MaxUnzipBytes,
			MaxZipEntries: p.Scan.MaxZipEntries, MaxXMLDepth: p.Scan.MaxXMLDepth, MaxTime: p.Scan.Timeout,
		},
	}
	for _, r := range p.Rules {
		pc.Rules = append(pc.Rules, policy.Rule{Name: r.Name,
			If: policy.Condition{SubjectTag: r.If.SubjectTag, RecipientDomain: r.If.RecipientDomain,
				Sender: r.If.Sender, Client: r.If.Client, Header: r.If.Header},
			Then: policy.Action{Action: mail.Action(r.Then.Action), Method: mail.Method(r.Then.Method)}})
	}
	e, err := policy.New(pc)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	return e, nil
}

// policyChecker adapts the engine to what smtpd asks of a policy.
type policyChecker struct{ h *policyHolder }

// Check runs the engine and keeps only what smtpd needs: the verdict's
// summary (detector names and counts, never values) and the Subject tag.
func (p policyChecker) Check(ctx context.Context, msg []byte, in smtpd.PolicyInput) (smtpd.Verdict, error) {
	v, err := p.h.p.Load().Check(ctx, msg, policy.Input{Sender: in.Sender, Client: in.Client, Recipients: in.Recipients,
		Header: in.Header})
	if err != nil {
		return smtpd.Verdict{}, err
	}
	return smtpd.Verdict{PolicySummary: v.Summary(), SubjectTag: v.SubjectTag}, nil
}
