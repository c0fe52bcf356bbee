package queue

import (
	"context"
	"fmt"
	"testing"

	"github.com/sealgate/sealgate/mail"
)

// A campaign already waiting does not hold back transactional mail: with
// one worker busy on the first campaign message, every transactional
// message goes next, before the rest of the campaign.
func TestTransactionalBeforeWaitingCampaign(t *testing.T) {
	t.Parallel()
	gate := make(chan struct{})
	first := make(chan struct{}, 1)
	c := &scripted{fn: func(n int, d *mail.Delivery) []mail.Outcome {
		if n == 0 {
			first <- struct{}{}
			<-gate
		}
		return all(d, nil, false)
	}}
	q := startQueue(t, t.TempDir(), c, func(cfg *Config) {
		cfg.Workers = 1
		cfg.Bulk = func(client string) bool { return client == "campaign" }
	})
	const nBulk, nTrans = 20, 3
	for i := range nBulk {
		e := env(fmt.Sprintf("m%d@example.net", i))
		e.Client = "campaign"
		if _, err := q.Enqueue(context.Background(), e, testMsg()); err != nil {
			t.Fatal(err)
		}
	}
	<-first // the worker is busy with a campaign message; the rest wait
	for i := range nTrans {
		if _, err := q.Enqueue(context.Background(), env(fmt.Sprintf("t%d@example.net", i)), testMsg()); err != nil {
			t.Fatal(err)
		}
	}
	close(gate)
	waitFor(t, "all delivered", func() bool { return len(c.delivered()) == nBulk+nTrans })
	got := c.delivered()
	for i := 1; i <= nTrans; i++ {
		if got[i].Client != "ehr" {
			var order []string
			for _, d := range got {
				order = append(order, d.Rcpts[0].Addr)
			}
			t.Fatalf("delivery #%d is %s, want the transactional messages right after the first; order %v", i+1, got[i].Rcpts[0].Addr, order)
		}
	}
}
