package policy

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sealgate/sealgate/mail"
)

var cleanMsg = []byte("From: News <news@clinic.example>\r\nTo: Ann Lee <ann@home.example>\r\n" +
	"Subject: [SECURE] hello\r\nX-Sealgate-Encrypt: yes\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nSee you at the picnic.\r\n")

func TestRules(t *testing.T) {
	in := Input{Sender: "ops@news.example.org", Client: "marketing", Recipients: []string{"x@partner-hospital.org"}}
	cases := []struct {
		name       string
		rule       Rule
		wantAction mail.Action
		wantMethod mail.Method
		wantRule   string
	}{
		{"recipient domain forces tls", Rule{Name: "partner", If: Condition{RecipientDomain: "partner-hospital.org"}, Then: Action{Action: ActionEncrypt, Method: "tls"}}, ActionEncrypt, "tls", "partner"},
		{"sender glob blocks", Rule{Name: "news", If: Condition{Sender: "*@news.example.org"}, Then: Action{Action: ActionBlock}}, ActionBlock, "", "news"},
		{"client quarantines", Rule{Name: "mkt", If: Condition{Client: "marketing"}, Then: Action{Action: ActionQuarantine}}, ActionQuarantine, "", "mkt"},
		{"header matches", Rule{Name: "hdr", If: Condition{Header: "x-sealgate-encrypt: YES"}, Then: Action{Action: ActionEncrypt, Method: "portal"}}, ActionEncrypt, "portal", "hdr"},
		{"header value differs", Rule{Name: "hdr", If: Condition{Header: "X-Sealgate-Encrypt: no"}, Then: Action{Action: ActionBlock}}, ActionEncrypt, "", ""},
		{"deliver cannot lower", Rule{Name: "lower", If: Condition{SubjectTag: "[secure]"}, Then: Action{Action: ActionDeliver}}, ActionEncrypt, "", ""},
		{"no match", Rule{Name: "other", If: Condition{RecipientDomain: "*.elsewhere.org"}, Then: Action{Action: ActionBlock}}, ActionEncrypt, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eng := newTestEngine(t, Config{Rules: []Rule{tc.rule}})
			v, err := eng.Check(context.Background(), cleanMsg, in)
			if err != nil {
				t.Fatal(err)
			}
			if v.Action != tc.wantAction || v.Method != tc.wantMethod || v.Rule != tc.wantRule {
				t.Errorf("got action=%q method=%q rule=%q, want %q %q %q", v.Action, v.Method, v.Rule, tc.wantAction, tc.wantMethod, tc.wantRule)
			}
			if v.SubjectTag != "[secure]" {
				t.Errorf("subject tag %q, want [secure]", v.SubjectTag)
			}
		})
	}
}

func TestDefaultActions(t *testing.T) {
	plain := []byte("From: a@b.example\r\nTo: c@d.example\r\nSubject: lunch\r\n\r\nPizza at noon.\r\n")
	for mode, want := range map[string]mail.Action{DefaultEncryptIfPHI: ActionDeliver, DefaultEncryptAll: ActionEncrypt, DefaultDeliver: ActionDeliver} {
		eng := newTestEngine(t, Config{DefaultAction: mode})
		v, err := eng.Check(context.Background(), plain, Input{})
		if err != nil || v.Action != want || v.PHI {
			t.Errorf("%s: verdict %+v err %v, want action %s", mode, v, err, want)
		}
	}
	phi := []byte("From: a@b.example\r\nTo: c@d.example\r\nSubject: x\r\n\r\nPatient: Jane Doe, DOB 01/02/1980, asthma.\r\n")
	eng := newTestEngine(t, Config{DefaultAction: DefaultDeliver})
	if v, _ := eng.Check(context.Background(), phi, Input{}); !v.PHI || v.Action != ActionEncrypt {
		t.Errorf("default deliver let PHI out: %+v", v)
	}
}

func TestConfigValidation(t *testing.T) {
	bad := []struct {
		cfg  Config
		want string
	}{
		{Config{DefaultAction: "sometimes"}, "default_action"},
		{Config{Unreadable: "ignore"}, "unreadable action"},
		{Config{Rules: []Rule{{Name: "r", If: Condition{Sender: "*"}, Then: Action{Action: "shred"}}}}, "action \"shred\""},
		{Config{Rules: []Rule{{Name: "r", If: Condition{Sender: "*"}, Then: Action{Action: ActionEncrypt, Method: "fax"}}}}, "method"},
		{Config{Rules: []Rule{{Name: "r", If: Condition{Sender: "*"}, Then: Action{Action: ActionBlock, Method: "tls"}}}}, "needs the encrypt"},
		{Config{Rules: []Rule{{Name: "r", Then: Action{Action: ActionBlock}}}}, "empty condition"},
		{Config{Rules: []Rule{{Name: "r", If: Condition{Header: "X-Flag"}, Then: Action{Action: ActionBlock}}}}, "Name: value"},
		{Config{SubjectTags: []string{" "}}, "empty subject tag"},
	}
	for _, tc := range bad {
		_, err := New(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("config %+v: err %v, want one mentioning %q", tc.cfg, err, tc.want)
		}
	}
}

func TestStripSubjectTag(t *testing.T) {
	cases := []struct{ subject, tag, want string }{
		{"[secure] Lab results", "[secure]", "Lab results"},
		{"Lab [SECURE] results", "[secure]", "Lab results"},
		{"Results [Encrypt]", "[encrypt]", "Results"},
		{"No tag here", "[secure]", "No tag here"},
		{"Señal [secure] ñ", "[secure]", "Señal ñ"},
		{"x", "", "x"},
	}
	for _, tc := range cases {
		if got := StripSubjectTag(tc.subject, tc.tag); got != tc.want {
			t.Errorf("StripSubjectTag(%q, %q) = %q, want %q", tc.subject, tc.tag, got, tc.want)
		}
	}
}

// TestVerdictHoldsNoValues checks that the JSON verdict names detectors and counts but
// never a matched value, the subject or an address.
func TestVerdictHoldsNoValues(t *testing.T) {
	secrets := []string{"692-55-2407", "692552407", "Minerva", "Coldwell", "02/28/1976", "pulmonary fibrosis",
		"A7781203", "6QV3-AM6-VN53", "4111 1111 1111 1111", "Re: Coldwell intake", "minerva@home.example"}
	msg := []byte("From: Intake <intake@plan.example>\r\nTo: Minerva Coldwell <minerva@home.example>\r\n" +
		"Subject: Re: Coldwell intake\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n" +
		"Applicant: Minerva Coldwell\nSSN 692-55-2407\nDOB 02/28/1976\nMRN A7781203\nMBI 6QV3-AM6-VN53\n" +
		"Card 4111 1111 1111 1111\nConditions: pulmonary fibrosis\n")
	eng := newTestEngine(t, Config{})
	v, err := eng.Check(context.Background(), msg, Input{Sender: "intake@plan.example", Recipients: []string{"minerva@home.example"}})
	if err != nil {
		t.Fatal(err)
	}
	if !v.PHI || len(v.Reasons) < 5 {
		t.Fatalf("verdict %+v: want PHI with reasons", v)
	}
	out, _ := json.Marshal(v)
	for _, s := range secrets {
		if strings.Contains(string(out), s) {
			t.Errorf("verdict JSON holds %q: %s", s, out)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = eng.Check(ctx, msg, Input{})
	if err == nil {
		t.Fatal("cancelled check returned no error")
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error text holds %q: %v", s, err)
		}
	}
}

// TestEveryMatchingRuleIsNamed: the verdict names the rule that decided
// and, for the record, every rule that matched, in order, including one
// that could not lower the action; a rule that did not match is absent.
func TestEveryMatchingRuleIsNamed(t *testing.T) {
	in := Input{Sender: "ops@news.example.org", Client: "marketing", Recipients: []string{"x@partner-hospital.org"}}
	eng := newTestEngine(t, Config{Rules: []Rule{
		{Name: "lower", If: Condition{SubjectTag: "[secure]"}, Then: Action{Action: ActionDeliver}},
		{Name: "other", If: Condition{RecipientDomain: "*.elsewhere.org"}, Then: Action{Action: ActionBlock}},
		{Name: "partner", If: Condition{RecipientDomain: "partner-hospital.org"}, Then: Action{Action: ActionEncrypt, Method: "tls"}},
	}})
	v, err := eng.Check(context.Background(), cleanMsg, in)
	if err != nil {
		t.Fatal(err)
	}
	if v.Rule != "partner" || strings.Join(v.Rules, ",") != "lower,partner" {
		t.Errorf("rule %q, rules %q; want partner and lower,partner", v.Rule, v.Rules)
	}
	if s := v.Summary(); s.Rule != "partner" || strings.Join(s.Rules, ",") != "lower,partner" {
		t.Errorf("summary rule %q rules %q", s.Rule, s.Rules)
	}
}
