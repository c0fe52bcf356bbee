package tlsrpt

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// dayLayout names a UTC day, and the store's files.
const dayLayout = "2006-01-02"

// StoreConfig configures a Store.
type StoreConfig struct {
	// Dir keeps one JSON-lines file of results per UTC day, so a restart
	// does not lose the day's counts; "" keeps results in memory only.
	Dir string
	// Retention is how many days of results are kept; default 3.
	Retention int
	// Logger gets write failures; nil discards them.
	Logger *slog.Logger
	// Shared, when set, is where the nodes of a cluster add up their
	// results (Flush) and claim each day's reports (SendDaily).
	Shared Shared
}

// Store aggregates results per UTC day and policy domain. It is safe for
// concurrent use. Construct it with NewStore, Close it at the end.
type Store struct {
	cfg StoreConfig

	mu   sync.Mutex
	days map[string]map[string]*domainAgg // day → policy domain → counts
	file *os.File                         // today's file, when Dir is set
	fday string                           // the day of file
	// pending counts what Flush has yet to add to cfg.Shared.
	pending map[sharedKey]int
}

// domainAgg counts one domain's sessions per policy.
type domainAgg struct {
	policies map[string]*policyAgg // by policyKey
}

// policyAgg counts the sessions under one policy.
type policyAgg struct {
	desc     PolicyDesc
	success  int
	failures map[FailureDetail]int // FailedSessionCount left zero in keys
}

// NewStore makes a store and loads the days kept in Dir.
func NewStore(cfg StoreConfig) (*Store, error) {
	if cfg.Retention <= 0 {
		cfg.Retention = 3
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{cfg: cfg, days: map[string]map[string]*domainAgg{}, pending: map[sharedKey]int{}}
	if cfg.Dir == "" {
		return s, nil
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("tlsrpt: store directory: %w", err)
	}
	if err := s.load(); err != nil {
		return nil, err
	}
	return s, nil
}

// load reads the day files that are within retention.
func (s *Store) load() error {
	files, err := filepath.Glob(filepath.Join(s.cfg.Dir, "*.jsonl"))
	if err != nil {
		return fmt.Errorf("tlsrpt: store directory: %w", err)
	}
	for _, f := range files {
		if err := s.loadFile(f); err != nil {
			return err
		}
	}
	s.Prune(time.Now())
	return nil
}

func (s *Store) loadFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("tlsrpt: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var r Result
		if json.Unmarshal(sc.Bytes(), &r) == nil {
			s.add(r) // a torn last line (crash) is skipped
		}
	}
	return nil
}

// Record adds one result (delivery.TLSRecorder).
func (s *Store) Record(r Result) {
	if r.Time.IsZero() {
		r.Time = time.Now()
	}
	r.Time = r.Time.UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.add(r)
	if s.cfg.Shared != nil {
		s.pend(r)
	}
	if s.cfg.Dir != "" {
		s.persist(r)
	}
}

// add counts r; s.mu is held (or the store is not shared yet).
func (s *Store) add(r Result) {
	day := r.Time.UTC().Format(dayLayout)
	domains := s.days[day]
	if domains == nil {
		domains = map[string]*domainAgg{}
		s.days[day] = domains
	}
	dom := strings.ToLower(r.PolicyDomain)
	d := domains[dom]
	if d == nil {
		d = &domainAgg{policies: map[string]*policyAgg{}}
		domains[dom] = d
	}
	desc := describe(r)
	k := policyKey(desc)
	p := d.policies[k]
	if p == nil {
		p = &policyAgg{desc: desc, failures: map[FailureDetail]int{}}
		d.policies[k] = p
	}
	if r.Success() {
		p.success++
		return
	}
	p.failures[FailureDetail{ResultType: r.ResultType, SendingMTAIP: r.SendingIP,
		ReceivingMXHostname: r.MXHost, ReceivingIP: r.ReceivingIP, AdditionalInformation: r.Detail}]++
}

// describe is the policy part of a report for r (RFC 8460 §4.4: for sts
// the mx-host list holds the policy's patterns, for tlsa the MX host).
func describe(r Result) PolicyDesc {
	d := PolicyDesc{PolicyType: r.PolicyType, PolicyDomain: strings.ToLower(r.PolicyDomain),
		PolicyString: r.PolicyStrings}
	switch {
	case r.PolicyType == PolicySTS:
		d.MXHost = r.MXPatterns
	case r.PolicyType == PolicyTLSA && r.MXHost != "":
		d.MXHost = []string{r.MXHost}
	}
	return d
}

func policyKey(d PolicyDesc) string {
	return d.PolicyType + "\x00" + strings.Join(d.PolicyString, "\x01") + "\x00" + strings.Join(d.MXHost, "\x01")
}

// persist appends r to the day's file; s.mu is held.
func (s *Store) persist(r Result) {
	day := r.Time.Format(dayLayout)
	if s.file == nil || s.fday != day {
		if s.file != nil {
			_ = s.file.Close()
		}
		f, err := os.OpenFile(filepath.Join(s.cfg.Dir, day+".jsonl"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			s.file = nil
			s.cfg.Logger.Warn("TLS report store write failed", slog.String("error", err.Error()))
			return
		}
		s.file, s.fday = f, day
	}
	b, _ := json.Marshal(r)
	if _, err := s.file.Write(append(b, '\n')); err != nil {
		s.cfg.Logger.Warn("TLS report store write failed", slog.String("error", err.Error()))
	}
}

// Domains lists the policy domains with results on day (UTC), sorted.
func (s *Store) Domains(day time.Time) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for d := range s.days[day.UTC().Format(dayLayout)] {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

// Prune forgets days older than Retention days before now, in memory, on
// disk and in the shared store.
func (s *Store) Prune(now time.Time) {
	cutoff := now.UTC().AddDate(0, 0, -s.cfg.Retention).Format(dayLayout)
	if s.cfg.Shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := s.cfg.Shared.PruneTLSResults(ctx, cutoff); err != nil {
			s.cfg.Logger.Warn("TLS report store prune failed", slog.String("error", err.Error()))
		}
		cancel()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for day := range s.days {
		if day < cutoff {
			delete(s.days, day)
		}
	}
	if s.cfg.Dir == "" {
		return
	}
	files, _ := filepath.Glob(filepath.Join(s.cfg.Dir, "*.jsonl"))
	for _, f := range files {
		if strings.TrimSuffix(filepath.Base(f), ".jsonl") < cutoff {
			_ = os.Remove(f)
		}
	}
}

// Close closes the day file.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.file == nil {
		return nil
	}
	err := s.file.Close()
	s.file = nil
	return err
}
