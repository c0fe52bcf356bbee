package stats

import (
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
)

// Domain is one sending domain's totals over a period, and its rates.
type Domain struct {
	Domain string           `json:"domain"`
	Counts map[string]int64 `json:"counts"`
	// Rates, in per cent of the recipients sent (complaints: of those
	// delivered, as the mailbox providers count them); absent (zero) when
	// nothing was sent.
	DeliveryRate  float64 `json:"delivery_rate_pct"`
	BounceRate    float64 `json:"bounce_rate_pct"`
	HardRate      float64 `json:"hard_bounce_rate_pct"`
	ComplaintRate float64 `json:"complaint_rate_pct"`
	UnsubRate     float64 `json:"unsubscribe_rate_pct"`
	// Warnings name each threshold a rate is over.
	Warnings []string `json:"warnings,omitempty"`
}

// Thresholds the big mailbox providers publish or that senders are held
// to; a rate at or above one is marked in the report.
const (
	// ComplaintLimit: Gmail's and Yahoo's sender requirements (2024) keep
	// spam complaints under 0.3 %, and advise under 0.1 %.
	ComplaintLimit  = 0.3
	ComplaintAdvice = 0.1
	// HardBounceLimit: the common rule of thumb of deliverability practice
	// (not a provider's published number): hard bounces under 2 % of sent.
	HardBounceLimit = 2.0
)

// Summarise turns counts (summed over a period, any hours) into one Domain
// per sending domain, by name.
func Summarise(cs []Count) []Domain {
	by := map[string]map[string]int64{}
	for _, c := range cs {
		if by[c.Domain] == nil {
			by[c.Domain] = map[string]int64{}
		}
		by[c.Domain][c.Counter] += c.N
	}
	out := make([]Domain, 0, len(by))
	for d, counts := range by {
		for _, name := range Counters {
			counts[name] += 0
		}
		out = append(out, rate(Domain{Domain: d, Counts: counts}))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Domain < out[j].Domain })
	return out
}

func pct(n, of int64) float64 {
	if of <= 0 {
		return 0
	}
	return float64(n) * 100 / float64(of)
}

func rate(d Domain) Domain {
	c := d.Counts
	bounced := c[BouncedHard] + c[BouncedSoft] + c[BouncedPolicy] + c[BouncedTLS] + c[BouncedOther]
	d.DeliveryRate = pct(c[Delivered], c[Sent])
	d.BounceRate = pct(bounced, c[Sent])
	d.HardRate = pct(c[BouncedHard], c[Sent])
	d.ComplaintRate = pct(c[Complaints], c[Delivered])
	d.UnsubRate = pct(c[Unsubscribes], c[Delivered])
	switch {
	case d.ComplaintRate >= ComplaintLimit:
		d.Warnings = append(d.Warnings, fmt.Sprintf("complaint rate %.2f%% at or over %.1f%% (Gmail/Yahoo limit)", d.ComplaintRate, ComplaintLimit))
	case d.ComplaintRate >= ComplaintAdvice:
		d.Warnings = append(d.Warnings, fmt.Sprintf("complaint rate %.2f%% at or over %.1f%% (Gmail/Yahoo advice)", d.ComplaintRate, ComplaintAdvice))
	}
	if d.HardRate >= HardBounceLimit {
		d.Warnings = append(d.Warnings, fmt.Sprintf("hard bounce rate %.2f%% at or over %.0f%% (list hygiene)", d.HardRate, HardBounceLimit))
	}
	return d
}

// Print writes the report as a table, warnings under each domain.
func Print(w io.Writer, ds []Domain) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DOMAIN\tSENT\tDELIVERED\tDEFERRED\tHARD\tSOFT\tPOLICY\tTLS\tOTHER\tCOMPLAINTS\tUNSUBS\tSUPPRESSED\tDELIVERY%\tBOUNCE%\tCOMPLAINT%")
	for _, d := range ds {
		c := d.Counts
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%.2f\t%.2f\t%.3f\n", d.Domain, c[Sent], c[Delivered],
			c[Deferred], c[BouncedHard], c[BouncedSoft], c[BouncedPolicy], c[BouncedTLS], c[BouncedOther], c[Complaints],
			c[Unsubscribes], c[Suppressed], d.DeliveryRate, d.BounceRate, d.ComplaintRate)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, d := range ds {
		for _, warn := range d.Warnings {
			fmt.Fprintf(w, "! %s: %s\n", d.Domain, warn)
		}
	}
	return nil
}
