package main

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/sealgate/sealgate/policy"
)

// TestCampaignPHIShare checks that the generator's PHI notices are what
// sealgate's policy protects and its newsletters are not, so the benchmark
// measures the protection of one message in ten.
func TestCampaignPHIShare(t *testing.T) {
	eng, err := policy.New(policy.Config{})
	if err != nil {
		t.Fatal(err)
	}
	o := options{domains: 8, from: "news@clinic.bench.invalid"}
	rng := rand.New(rand.NewPCG(1, 7))
	const n = 200
	phi := 0
	for i := range n {
		_, msg := marketing(o, i, rng)
		if len(msg) < 5*1024 || len(msg) > 21*1024 {
			t.Errorf("message %d is %d bytes, not 5-20 KB", i, len(msg))
		}
		v, err := eng.Check(context.Background(), msg, policy.Input{Sender: o.from, Client: "news"})
		if err != nil {
			t.Fatal(err)
		}
		if v.PHI != isPHI(i) {
			t.Errorf("message %d: PHI verdict %v, generated as PHI %v (action %s, score %.3f)", i, v.PHI, isPHI(i), v.Action, v.Score)
		}
		if v.PHI {
			phi++
		}
	}
	if phi != phiCount(n) {
		t.Errorf("%d PHI messages in %d, want %d", phi, n, phiCount(n))
	}
}
