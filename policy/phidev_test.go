package policy

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"testing"
)

// phiDevDir is the labelled development set, kept beside the repository.
const phiDevDir = "../../shared/testdata/phi-dev"

// TestPHIDevSet measures recall on the phi messages and the false-positive rate on the
// clean ones of the development set, and fails below the required figures.
func TestPHIDevSet(t *testing.T) {
	labels, err := os.Open(filepath.Join(phiDevDir, "labels.csv"))
	if err != nil {
		if os.Getenv("CI") != "true" {
			t.Skipf("phi-dev set not found beside the repository (%v)", err)
		}
		t.Fatalf("phi-dev set: %v", err)
	}
	defer labels.Close()
	rows, err := csv.NewReader(labels).ReadAll()
	if err != nil {
		t.Fatalf("labels.csv: %v", err)
	}
	eng := newTestEngine(t, Config{})
	var tp, fn, fp, tn int
	for _, row := range rows[1:] {
		msg, err := os.ReadFile(filepath.Join(phiDevDir, row[0]))
		if err != nil {
			t.Fatalf("%s: %v", row[0], err)
		}
		v, err := eng.Check(context.Background(), msg, Input{})
		if err != nil {
			t.Fatalf("%s: %v", row[0], err)
		}
		switch {
		case row[1] == "phi" && v.PHI:
			tp++
		case row[1] == "phi":
			fn++
			t.Logf("missed: %s (%s)", row[0], row[2])
		case v.PHI:
			fp++
			t.Logf("false alarm: %s (%s)", row[0], row[2])
		default:
			tn++
		}
	}
	if tp+fn == 0 || fp+tn == 0 {
		t.Fatalf("labels.csv holds no phi or no clean messages")
	}
	recall := float64(tp) / float64(tp+fn)
	fpr := float64(fp) / float64(fp+tn)
	t.Logf("phi-dev: recall=%.4f fpr=%.4f (tp=%d fn=%d fp=%d tn=%d)", recall, fpr, tp, fn, fp, tn)
	if recall < 0.98 {
		t.Errorf("recall %.4f below 0.98", recall)
	}
	if fpr > 0.05 {
		t.Errorf("false-positive rate %.4f above 0.05", fpr)
	}
}

func newTestEngine(t testing.TB, cfg Config) *Engine {
	t.Helper()
	eng, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return eng
}
