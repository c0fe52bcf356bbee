package policy

import (
	"fmt"

	"github.com/sealgate/sealgate/mail"
)

// Summary is the verdict as it travels with the message from here on —
// into the spool, to the encryptor and into the audit log: whether it
// holds PHI, the action, a forced method, the deciding rule and every
// rule that matched, and the reasons as "detector×count" (one per reason,
// in the verdict's order). It carries no matched value and no score.
func (v Verdict) Summary() mail.PolicySummary {
	s := mail.PolicySummary{PHI: v.PHI, Action: v.Action, Method: v.Method, Rule: v.Rule, Rules: v.Rules}
	for _, r := range v.Reasons {
		s.Reasons = append(s.Reasons, fmt.Sprintf("%s×%d", r.Detector, r.Count))
	}
	return s
}
