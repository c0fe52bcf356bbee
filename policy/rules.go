package policy

import (
	"path"
	"strings"
)

// applyRules evaluates the configured rules in order. A matching rule raises the action
// when it asks for more protection; at the same level it may add a forced method. No
// rule lowers the action: PHI stays encrypted whatever a rule says.
func (e *Engine) applyRules(v *Verdict, s *scan, in Input) {
	for _, r := range e.cfg.Rules {
		if !e.matches(r.If, s, in) {
			continue
		}
		v.Rules = append(v.Rules, r.Name)
		switch {
		case level(r.Then.Action) > level(v.Action):
			v.Action, v.Method, v.Rule = r.Then.Action, r.Then.Method, r.Name
		case level(r.Then.Action) == level(v.Action) && v.Method == "" && r.Then.Method != "":
			v.Method, v.Rule = r.Then.Method, r.Name
		}
	}
	if v.Action != ActionEncrypt {
		v.Method = ""
	}
}

// matches reports whether every non-empty field of c matches the message.
func (e *Engine) matches(c Condition, s *scan, in Input) bool {
	if c.SubjectTag != "" && !strings.Contains(strings.ToLower(s.subject), strings.ToLower(c.SubjectTag)) {
		return false
	}
	if c.Sender != "" && !globMatch(c.Sender, in.Sender) {
		return false
	}
	if c.Client != "" && !globMatch(c.Client, in.Client) {
		return false
	}
	if c.RecipientDomain != "" && !anyRecipientDomain(c.RecipientDomain, in.Recipients) {
		return false
	}
	if c.Header != "" && !headerMatches(c.Header, s) {
		return false
	}
	return true
}

// globMatch matches a shell-style pattern against a value, ignoring case. A malformed
// pattern matches nothing.
func globMatch(pattern, value string) bool {
	ok, err := path.Match(strings.ToLower(pattern), strings.ToLower(value))
	return err == nil && ok
}

func anyRecipientDomain(pattern string, rcpts []string) bool {
	for _, r := range rcpts {
		at := strings.LastIndexByte(r, '@')
		if at < 0 {
			continue
		}
		dom := strings.TrimSuffix(r[at+1:], ">")
		if globMatch(pattern, dom) {
			return true
		}
	}
	return false
}

// headerMatches checks a "Name: value" condition against the top-level header. The
// value may be a glob; an empty value matches any value of a present field.
func headerMatches(cond string, s *scan) bool {
	name, want, _ := strings.Cut(cond, ":")
	name, want = strings.TrimSpace(name), strings.TrimSpace(want)
	fields := s.top.FieldsByKey(name)
	for fields.Next() {
		got := strings.TrimSpace(fields.Value())
		if want == "" || globMatch(want, got) {
			return true
		}
	}
	return false
}
