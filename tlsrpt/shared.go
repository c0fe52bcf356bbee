package tlsrpt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Shared keeps the TLS results of every node of a cluster in one place
// (sealgate's shared store) so that one report per policy domain and day
// covers them all (RFC 8460 §4: one report per reporting organisation),
// and lets exactly one node send it. Days are YYYY-MM-DD (UTC); policy and
// detail are opaque JSON this package writes and reads.
type Shared interface {
	// AddTLSResults adds n sessions to a count; nodes add, none overwrites.
	AddTLSResults(ctx context.Context, day, domain, policy, detail string, n int) error
	// TLSResultDomains lists the policy domains with results on day.
	TLSResultDomains(ctx context.Context, day string) ([]string, error)
	// TLSResults calls each with every count of domain on day.
	TLSResults(ctx context.Context, day, domain string, each func(policy, detail string, n int)) error
	// ClaimTLSReport reports whether node is now the one sender of the
	// report (mine) and, if not, whether its holder sent it. node may
	// claim again what it did not send, any node a claim older than stale
	// whose report is not sent.
	ClaimTLSReport(ctx context.Context, day, domain, node string, stale time.Duration) (mine, sent bool, err error)
	// TLSReportSent marks node's claimed report as sent.
	TLSReportSent(ctx context.Context, day, domain, node string) error
	// ReleaseTLSReport gives up node's claim after its report failed.
	ReleaseTLSReport(ctx context.Context, day, domain, node string) error
	// PruneTLSResults deletes results and claims of days before day.
	PruneTLSResults(ctx context.Context, day string) error
}

// ClaimStale is how long a claimed report may stay unsent before another
// node takes it over (its node stopped while sending).
const ClaimStale = time.Hour

// ErrReportHeld: another node has claimed a report and not sent it yet;
// ask again later (after ClaimStale the claim may be taken over).
var ErrReportHeld = errors.New("tlsrpt: another node is sending a report")

// sharedKey is one count not yet added to the shared store.
type sharedKey struct{ day, domain, policy, detail string }

// pend counts r for the next Flush; s.mu is held.
func (s *Store) pend(r Result) {
	desc := describe(r)
	pol, _ := json.Marshal(desc)
	k := sharedKey{day: r.Time.Format(dayLayout), domain: desc.PolicyDomain, policy: string(pol)}
	if !r.Success() {
		det, _ := json.Marshal(FailureDetail{ResultType: r.ResultType, SendingMTAIP: r.SendingIP,
			ReceivingMXHostname: r.MXHost, ReceivingIP: r.ReceivingIP, AdditionalInformation: r.Detail})
		k.detail = string(det)
	}
	s.pending[k]++
}

// Flush adds the counts recorded since the last Flush to the shared store.
// A count that cannot be written stays pending for the next Flush. Without
// a shared store it does nothing.
func (s *Store) Flush(ctx context.Context) error {
	if s.cfg.Shared == nil {
		return nil
	}
	s.mu.Lock()
	batch := s.pending
	s.pending = map[sharedKey]int{}
	s.mu.Unlock()
	var errs []error
	for k, n := range batch {
		if err := s.cfg.Shared.AddTLSResults(ctx, k.day, k.domain, k.policy, k.detail, n); err != nil {
			errs = append(errs, err)
			s.mu.Lock()
			s.pending[k] += n
			s.mu.Unlock()
		}
	}
	return errors.Join(errs...)
}

// sharedDomains lists the domains with results on day in the shared store.
func (s *Store) sharedDomains(ctx context.Context, day time.Time) ([]string, error) {
	return s.cfg.Shared.TLSResultDomains(ctx, day.UTC().Format(dayLayout))
}

// sharedReport builds req's report from every node's counts.
func (s *Store) sharedReport(ctx context.Context, req ReportRequest) (*Report, error) {
	rep, start, domain := newReport(req)
	d := &domainAgg{policies: map[string]*policyAgg{}}
	var bad error
	err := s.cfg.Shared.TLSResults(ctx, start.Format(dayLayout), domain, func(policy, detail string, n int) {
		p := d.policies[policy]
		if p == nil {
			p = &policyAgg{failures: map[FailureDetail]int{}}
			if err := json.Unmarshal([]byte(policy), &p.desc); err != nil {
				bad = err
				return
			}
			d.policies[policy] = p
		}
		if detail == "" {
			p.success += n
			return
		}
		var fd FailureDetail
		if err := json.Unmarshal([]byte(detail), &fd); err != nil {
			bad = err
			return
		}
		p.failures[fd] += n
	})
	if err = errors.Join(err, bad); err != nil {
		return nil, fmt.Errorf("tlsrpt: shared results: %w", err)
	}
	if rep.Policies = d.reports(); len(rep.Policies) == 0 {
		return nil, ErrNoResults
	}
	return rep, nil
}

// sendShared sends day's report of each domain this node can claim; a
// report that fails releases its claim so a later run sends it. A report
// another node holds and has not sent yet adds ErrReportHeld, so that the
// caller asks again later.
func sendShared(ctx context.Context, req DailyRequest) (sent int, err error) {
	s := req.Store
	if err := s.Flush(ctx); err != nil {
		return 0, err
	}
	domains, err := s.sharedDomains(ctx, req.Day)
	if err != nil {
		return 0, err
	}
	day := req.Day.UTC().Format(dayLayout)
	var errs []error
	for _, dom := range domains {
		rua, lerr := Lookup(ctx, req.Resolver, dom)
		if lerr != nil {
			continue
		}
		mine, done, cerr := s.cfg.Shared.ClaimTLSReport(ctx, day, dom, req.Submitter, ClaimStale)
		if cerr == nil && !mine && !done {
			cerr = ErrReportHeld
		}
		if cerr != nil || !mine {
			errs = append(errs, cerr)
			continue
		}
		rep, rerr := s.sharedReport(ctx, ReportRequest{Domain: dom, Day: req.Day,
			Organization: req.Organization, Contact: req.Contact, Submitter: req.Submitter})
		if rerr == nil {
			rerr = Send(ctx, SendRequest{Report: rep, Domain: dom, Submitter: req.Submitter, From: req.From,
				RUA: rua, Mailer: req.Mailer, HTTP: req.HTTP})
		}
		if rerr != nil {
			errs = append(errs, fmt.Errorf("report %d: %w", sent+len(errs)+1, rerr),
				s.cfg.Shared.ReleaseTLSReport(ctx, day, dom, req.Submitter))
			continue
		}
		sent++
		if merr := s.cfg.Shared.TLSReportSent(ctx, day, dom, req.Submitter); merr != nil {
			errs = append(errs, merr) // the claim still holds for ClaimStale
		}
	}
	return sent, errors.Join(errs...)
}
