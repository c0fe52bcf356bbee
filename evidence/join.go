package evidence

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sealgate/sealgate/audit"
)

// join gathers audit records by queue ID as Scan hands them over.
type join struct {
	msgs []*message // in order of their first record
	byID map[string]*message
}

// message is what the log says about one queued message.
type message struct {
	id       string
	accepted *audit.Entry
	rcpts    []*Record // in envelope order, then as delivery records name them
	ops      []Operator
	opSeqs   []uint64
	seqs     map[*Record][]uint64
	expired  map[*Record]time.Time // failed for age, without another attempt
}

func newJoin() *join { return &join{byID: map[string]*message{}} }

// add takes one audit record.
func (j *join) add(e audit.Entry) {
	if e.QueueID == "" {
		return
	}
	switch e.Event.Event {
	case "accepted":
		m := j.message(e.QueueID)
		m.accepted = &e
		for _, r := range e.Rcpts {
			m.seqs[m.record(r)] = append(m.seqs[m.record(r)], e.Seq)
		}
	case "delivery":
		m := j.message(e.QueueID)
		r := m.record(e.Rcpt)
		r.Attempts = append(r.Attempts, attemptOf(e))
		m.seqs[r] = append(m.seqs[r], e.Seq)
	case "expired":
		m := j.message(e.QueueID)
		r := m.record(e.Rcpt)
		m.expired[r] = e.Time
		m.seqs[r] = append(m.seqs[r], e.Seq)
	case "operator":
		m := j.message(e.QueueID)
		m.ops = append(m.ops, Operator{Time: e.Time, Action: e.Action, Operator: e.Operator, Result: e.Result})
		m.opSeqs = append(m.opSeqs, e.Seq)
	}
}

func (j *join) message(id string) *message {
	m := j.byID[id]
	if m == nil {
		m = &message{id: id, seqs: map[*Record][]uint64{}, expired: map[*Record]time.Time{}}
		j.byID[id] = m
		j.msgs = append(j.msgs, m)
	}
	return m
}

// record is the recipient's record, made on first mention. Addresses are
// matched exactly first, then without regard to case.
func (m *message) record(addr string) *Record {
	for _, r := range m.rcpts {
		if r.Recipient == addr {
			return r
		}
	}
	for _, r := range m.rcpts {
		if strings.EqualFold(r.Recipient, addr) {
			return r
		}
	}
	r := &Record{QueueID: m.id, Recipient: addr}
	m.rcpts = append(m.rcpts, r)
	return r
}

func (m *message) records() []*Record { return m.rcpts }

func attemptOf(e audit.Entry) Attempt {
	return Attempt{Time: e.Time, Attempt: e.Attempt, Result: e.Result, Method: e.Method, MethodReason: e.Reason,
		Encryption: e.Encryption, Consent: e.Consent, Notice: e.Notice, Code: e.Code, Enhanced: e.Enhanced, RemoteText: e.RemoteText,
		RemoteMTA: e.Remote2, TLSVersion: e.TLS, TLSCipher: e.Cipher, PeerAuth: e.VerifyBy}
}

// finish fills what the record takes from the message as a whole, from
// its last attempts and from its portal notification's own message.
// signedThrough is the last checkpoint's seq.
func (j *join) finish(r *Record, m *message, signedThrough uint64) {
	if a := m.accepted; a != nil {
		r.Accepted, r.Client, r.ClientAddr, r.Origin = a.Time, a.Client, a.Remote, a.Origin
		if a.From != nil {
			r.Sender = *a.From
		}
		r.Policy = policyOf(a)
	}
	for _, a := range r.Attempts {
		if a.Method != "" {
			r.Method, r.MethodReason, r.Encryption, r.Consent = a.Method, a.MethodReason, a.Encryption, a.Consent
		}
	}
	r.Operator = slices.Clone(m.ops)
	r.Result, r.ResultAt = result(r.Attempts, m, m.expired[r])
	r.AuditSeqs = append(slices.Clone(m.seqs[r]), m.opSeqs...)
	r.AuditSeqs = append(r.AuditSeqs, j.notice(r)...)
	slices.Sort(r.AuditSeqs)
	r.Verified = len(r.AuditSeqs) > 0
	for _, s := range r.AuditSeqs {
		r.Verified = r.Verified && s > 0 && s < signedThrough
	}
	ensureLists(r)
}

// notice joins the delivery of the recipient's portal notification (the
// last one an attempt spooled) and returns the audit records it used.
func (j *join) notice(r *Record) []uint64 {
	var id string
	for _, a := range r.Attempts {
		if a.Notice != "" {
			id = a.Notice
		}
	}
	nm := j.byID[id]
	if nm == nil {
		if id != "" {
			r.Notice = &Notice{QueueID: id, Attempts: []Attempt{}, Result: "unknown"}
		}
		return nil
	}
	nr := nm.record(r.Recipient)
	n := &Notice{QueueID: id, Attempts: slices.Clone(nr.Attempts)}
	n.Result, n.ResultAt = result(n.Attempts, nm, nm.expired[nr])
	if n.Attempts == nil {
		n.Attempts = []Attempt{}
	}
	r.Notice = n
	if n.Result == "delivered" || n.Result == "bounced" {
		ev := map[string]string{"delivered": "notice_sent", "bounced": "notice_bounced"}[n.Result]
		r.Portal = append(r.Portal, PortalEvent{Time: n.ResultAt, Event: ev, Actor: "system"})
	}
	return nm.seqs[nr]
}

// ensureLists makes empty lists [] rather than null in JSON.
func ensureLists(r *Record) {
	if r.Attempts == nil {
		r.Attempts = []Attempt{}
	}
	if r.Portal == nil {
		r.Portal = []PortalEvent{}
	}
	if r.Operator == nil {
		r.Operator = []Operator{}
	}
	if r.Policy.Rules == nil {
		r.Policy.Rules = []string{}
	}
	if r.Policy.Reasons == nil {
		r.Policy.Reasons = []Reason{}
	}
}

// result is a recipient's final state after the attempts (and, when it
// is not zero, its failure for age at expired), and when it was reached.
func result(attempts []Attempt, m *message, expired time.Time) (string, time.Time) {
	if n := len(attempts); n > 0 {
		last := attempts[n-1]
		switch last.Result {
		case "delivered", "bounced":
			return last.Result, last.Time
		}
	}
	if !expired.IsZero() {
		return "expired", expired
	}
	for _, op := range slices.Backward(m.ops) {
		if op.Action == "delete" && op.Result == "ok" {
			return "deleted", op.Time
		}
	}
	if n := len(attempts); n > 0 {
		return "pending", attempts[n-1].Time
	}
	switch {
	case m.accepted == nil:
		return "queued", time.Time{}
	case m.accepted.Action == "quarantine":
		return "held", m.accepted.Time
	}
	return "queued", m.accepted.Time
}

// policyOf reads the verdict from the accepted record; reasons recorded
// per part ("detector×count") are summed per detector, in first-seen order.
func policyOf(a *audit.Entry) Policy {
	p := Policy{Action: a.Action, ForcedMethod: a.Method, DecidingRule: a.Rule, Rules: slices.Clone(a.Rules)}
	if a.PHI != nil {
		p.PHI = *a.PHI
	}
	for _, f := range a.Finds {
		name, n, ok := strings.Cut(f, "×")
		count, err := strconv.Atoi(n)
		if !ok || err != nil {
			name, count = f, 0
		}
		i := slices.IndexFunc(p.Reasons, func(r Reason) bool { return r.Detector == name })
		if i < 0 {
			p.Reasons = append(p.Reasons, Reason{Detector: name})
			i = len(p.Reasons) - 1
		}
		p.Reasons[i].Count += count
	}
	return p
}

// latest is the time of the record's last event.
func (r *Record) latest() time.Time {
	t := r.Accepted
	for _, a := range r.Attempts {
		t = later(t, a.Time)
	}
	for _, p := range r.Portal {
		t = later(t, p.Time)
	}
	for _, o := range r.Operator {
		t = later(t, o.Time)
	}
	return t
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func (q Query) wantsRecipient(addr string) bool {
	return q.Recipient == "" || strings.EqualFold(q.Recipient, addr)
}

// portalNames turns the portal store's event kinds into the evidence's
// words; a kind not listed is kept as it is.
var portalNames = map[string]string{
	"created": "stored", "code_sent": "code_sent", "code_failed": "code_failed", "locked": "locked",
	"login": "signed_in", "factor_failed": "factor_failed", "view": "opened", "download": "downloaded",
	"reply": "replied", "revoke": "revoked", "expire": "expired", "delete": "deleted", "replaced": "replaced",
}

func portalEventName(kind string) string {
	if n, ok := portalNames[kind]; ok {
		return n
	}
	return kind
}

// sortPortal orders events by time, keeping the order of equal times.
func sortPortal(evs []PortalEvent) {
	slices.SortStableFunc(evs, func(a, b PortalEvent) int { return a.Time.Compare(b.Time) })
}
