package policy

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// TestLabelledCorpora scores the labelled corpora in testdata/ (phi-dev and phi-train)
// and fails below recall 0.98 on the phi messages or above a false-positive rate of
// 0.03 on the clean ones, on either corpus. Misses are logged by category.
func TestLabelledCorpora(t *testing.T) {
	eng := newTestEngine(t, Config{})
	for _, name := range corpusNames {
		t.Run(name, func(t *testing.T) {
			recall, fpr := scoreCorpus(t, eng, filepath.Join(*corpusRoot, name))
			if recall < 0.98 {
				t.Errorf("recall %.4f below 0.98", recall)
			}
			if fpr > 0.03 {
				t.Errorf("false-positive rate %.4f above 0.03", fpr)
			}
		})
	}
}

// TestHeldOutProbe scores testdata/phi-probe, a labelled set written apart from the
// detector and never used to fit or tune it: what to expect on mail of other people,
// organisations and wording. Its floors are a guard against a change that generalises
// worse, not a target (see docs/benchmarks.md for the figures).
func TestHeldOutProbe(t *testing.T) {
	eng := newTestEngine(t, Config{})
	recall, fpr := scoreCorpus(t, eng, filepath.Join(*corpusRoot, "phi-probe"))
	if recall < 0.95 {
		t.Errorf("held-out recall %.4f below 0.95", recall)
	}
	if fpr > 0.20 {
		t.Errorf("held-out false-positive rate %.4f above 0.20", fpr)
	}
}

// scoreCorpus checks every message of a labelled corpus and returns recall on its phi
// messages and the false-positive rate on its clean ones, logging misses by category.
func scoreCorpus(t *testing.T, eng *Engine, dir string) (recall, fpr float64) {
	t.Helper()
	var tp, fn, fp, tn int
	misses := map[string]int{}
	for _, row := range readLabels(t, dir) {
		msg, err := os.ReadFile(filepath.Join(dir, row[0]))
		if err != nil {
			t.Fatalf("%s: %v", row[0], err)
		}
		v, err := eng.Check(context.Background(), msg, Input{})
		if err != nil {
			t.Fatalf("%s: %v", row[0], err)
		}
		switch phi := row[1] == "phi"; {
		case phi && v.PHI:
			tp++
		case phi:
			fn++
			misses["missed "+row[2]]++
		case v.PHI:
			fp++
			misses["false alarm "+row[2]]++
		default:
			tn++
		}
	}
	if tp+fn == 0 || fp+tn == 0 {
		t.Fatalf("labels.csv holds no phi or no clean messages")
	}
	keys := make([]string, 0, len(misses))
	for k := range misses {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Logf("%s: %d", k, misses[k])
	}
	recall = float64(tp) / float64(tp+fn)
	fpr = float64(fp) / float64(fp+tn)
	t.Logf("%s: recall=%.4f fpr=%.4f (tp=%d fn=%d fp=%d tn=%d)", filepath.Base(dir), recall, fpr, tp, fn, fp, tn)
	return recall, fpr
}

func newTestEngine(t testing.TB, cfg Config) *Engine {
	t.Helper()
	eng, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return eng
}
