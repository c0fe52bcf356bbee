package policy

import (
	"bytes"
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// The scorer's weights are fitted here, from the labelled corpora in testdata/, by
//
//	go test ./policy -run TestTrainModel -train
//
// which rewrites model_weights.go. Without -train the test only reports the
// cross-validated figures, so CI shows how well the model generalises.
var dumpFlag = flag.String("dump", "", "write the cross-validated probabilities to this file")

var trainFlag = flag.Bool("train", false, "refit the scorer and rewrite model_weights.go")

// corpusRoot holds the labelled corpora phi-train and phi-dev.
var corpusRoot = flag.String("corpora", "../testdata", "folder holding the labelled corpora phi-train and phi-dev")

var corpusNames = []string{"phi-train", "phi-dev"}

// sample is one labelled message, with its features.
type sample struct {
	file, category string
	healthCtx      bool   // the scorer's gate: something places the message in health care
	variant        string // "v1", "v2", ... from the notes: a different layout and wording
	corpus         int
	phi            bool
	f              featureVector
}

func loadSamples(t testing.TB, eng *Engine) []sample {
	t.Helper()
	var out []sample
	for ci, name := range corpusNames {
		dir := filepath.Join(*corpusRoot, name)
		rows := readLabels(t, dir)
		for _, row := range rows {
			msg, err := os.ReadFile(filepath.Join(dir, row[0]))
			if err != nil {
				t.Fatalf("%s: %v", row[0], err)
			}
			s := eng.scanMessage(context.Background(), msg, nil)
			gate := s.healthContext()
			variant, _, _ := strings.Cut(row[3], ":")
			out = append(out, sample{file: row[0], category: row[2], variant: variant, corpus: ci, phi: row[1] == "phi", f: s.vector(), healthCtx: gate})
		}
	}
	for _, ex := range verdictExamples {
		s := eng.scanMessage(context.Background(), ex.msg, nil)
		out = append(out, sample{file: "example: " + ex.name, category: "verdict_examples", variant: "examples",
			corpus: len(corpusNames), phi: ex.phi, f: s.vector(), healthCtx: s.healthContext()})
	}
	return out
}

func readLabels(t testing.TB, dir string) [][]string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "labels.csv"))
	if err != nil {
		t.Fatalf("labelled corpus: %v", err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("%s/labels.csv: %v", dir, err)
	}
	return rows[1:]
}

// fitOptions are the training settings; they are the same for every fit.
type fitOptions struct {
	l2       float64 // ridge penalty on standardised weights
	l2Bag    float64 // ridge penalty on word-bucket weights
	posW     float64 // weight of a PHI example relative to a clean one
	iters    int
	learning float64
}

var defaultFit = fitOptions{l2: 0.003, l2Bag: 0.0003, posW: 2, iters: 3000, learning: 0.5}

// Flags to try other training settings.
var (
	flagL2    = flag.Float64("l2", 0, "override the ridge penalty")
	flagL2Bag = flag.Float64("l2bag", 0, "override the word-bucket ridge penalty")
	flagIters = flag.Int("iters", 0, "override the iterations")
	flagPosW  = flag.Float64("posw", 0, "override the PHI example weight")
)

func fitSettings() fitOptions {
	o := defaultFit
	if *flagL2 > 0 {
		o.l2 = *flagL2
	}
	if *flagL2Bag > 0 {
		o.l2Bag = *flagL2Bag
	}
	if *flagIters > 0 {
		o.iters = *flagIters
	}
	if *flagPosW > 0 {
		o.posW = *flagPosW
	}
	return o
}

// fit trains a logistic regression by full-batch gradient descent: deterministic, no
// randomness, so the same data gives the same weights. The named features are
// standardised; the word buckets keep their log counts, so that examples stay sparse.
func fit(all []sample, o fitOptions) linearModel {
	var samples []sample
	for _, s := range all {
		if s.healthCtx {
			samples = append(samples, s) // the rest are cleared by the gate, not the model
		}
	}
	n, d := len(samples), len(features)
	m := linearModel{mean: make([]float64, d), scale: make([]float64, d), w: make([]float64, d),
		bag: make([]float64, bagSize)}
	for _, s := range samples {
		for j, v := range s.f.x {
			m.mean[j] += v / float64(n)
		}
	}
	for _, s := range samples {
		for j, v := range s.f.x {
			m.scale[j] += (v - m.mean[j]) * (v - m.mean[j]) / float64(n)
		}
	}
	for j := range m.scale {
		m.scale[j] = math.Sqrt(m.scale[j])
		if m.scale[j] < 1e-9 {
			m.scale[j] = 0 // a constant feature carries no weight
		}
	}
	z := make([][]float64, n)
	for i, s := range samples {
		z[i] = m.standardise(s.f.x)
	}
	grad, gbag := make([]float64, d), make([]float64, bagSize)
	for it := 0; it < o.iters; it++ {
		clear(grad)
		clear(gbag)
		gb, wsum := 0.0, 0.0
		for i, s := range samples {
			p := m.prob(s.f)
			y, wt := 0.0, 1.0
			if s.phi {
				y, wt = 1, o.posW
			}
			g := wt * (p - y)
			for j, v := range z[i] {
				grad[j] += g * v
			}
			for _, b := range s.f.bag {
				gbag[b.k] += g * b.v
			}
			gb += g
			wsum += wt
		}
		for j := range m.w {
			m.w[j] -= o.learning * (grad[j]/wsum + o.l2*m.w[j])
		}
		for k := range m.bag {
			m.bag[k] -= o.learning * (gbag[k]/wsum + o.l2Bag*m.bag[k])
		}
		m.bias -= o.learning * gb / wsum
	}
	return m
}

// score counts recall and false-positive rate of predictions at threshold th.
func score(samples []sample, probs []float64, th float64) (recall, fpr float64, misses []string) {
	var tp, fn, fp, tn int
	for i, s := range samples {
		hit := probs[i] >= th && s.healthCtx
		switch {
		case s.phi && hit:
			tp++
		case s.phi:
			fn++
			misses = append(misses, "missed "+s.file+" "+s.category)
		case hit:
			fp++
			misses = append(misses, "false  "+s.file+" "+s.category)
		default:
			tn++
		}
	}
	return float64(tp) / float64(max(tp+fn, 1)), float64(fp) / float64(max(fp+tn, 1)), misses
}

// cvFolds is the number of groups of categories cross-validation holds out in turn.
const cvFolds = 10

// crossValidate predicts each category with a model fitted without it (categories are
// held out in cvFolds groups), so the figures say how the scorer does on kinds of
// message it has never seen.
func crossValidate(samples []sample, o fitOptions) []float64 {
	return crossValidateBy(samples, o, func(s sample) string { return s.category })
}

// crossValidateBy holds out the samples of each group of keys in turn.
func crossValidateBy(samples []sample, o fitOptions, key func(sample) string) []float64 {
	var names []string
	seen := map[string]bool{}
	for _, s := range samples {
		if k := key(s); !seen[k] {
			seen[k] = true
			names = append(names, k)
		}
	}
	sort.Strings(names)
	fold := map[string]int{}
	for i, c := range names {
		fold[c] = i % cvFolds
	}
	cats := map[int][]int{}
	for i, s := range samples {
		cats[fold[key(s)]] = append(cats[fold[key(s)]], i)
	}
	probs := make([]float64, len(samples))
	for _, idx := range cats {
		held := map[int]bool{}
		for _, i := range idx {
			held[i] = true
		}
		var train []sample
		for i, s := range samples {
			if !held[i] {
				train = append(train, s)
			}
		}
		m := fit(train, o)
		for _, i := range idx {
			probs[i] = m.prob(samples[i].f)
		}
	}
	return probs
}

// TestTrainModel reports the scorer's cross-validated figures and, with -train,
// refits it on both corpora and rewrites model_weights.go.
func TestTrainModel(t *testing.T) {
	if testing.Short() && !*trainFlag {
		t.Skip("cross-validation is slow; run without -short")
	}
	if trainedModel.err != nil && *trainFlag {
		// model_weights.go is stale: scan with an empty model, then refit.
		trainedModel = linearModel{mean: make([]float64, len(features)), scale: make([]float64, len(features)),
			w: make([]float64, len(features)), bag: make([]float64, bagSize)}
	}
	eng := newTestEngine(t, Config{})
	samples := loadSamples(t, eng)
	probs := crossValidate(samples, fitSettings())
	for _, th := range []float64{0.3, 0.4, 0.5, 0.6} {
		r, f, _ := score(samples, probs, th)
		t.Logf("leave-one-category-out at %.1f: recall=%.4f fpr=%.4f", th, r, f)
	}
	vprobs := crossValidateBy(samples, fitSettings(), func(s sample) string { return s.variant })
	for _, th := range []float64{0.3, 0.4, 0.5} {
		r, f, _ := score(samples, vprobs, th)
		t.Logf("leave-one-variant-out at %.1f: recall=%.4f fpr=%.4f", th, r, f)
	}
	ri := -1
	for j, f := range features {
		if f.name == "rules_verdict" {
			ri = j
		}
	}
	for _, th := range []float64{0.5, 0.6, 0.7, 0.8} {
		comb := make([]float64, len(samples))
		for i, s := range samples {
			comb[i] = vprobs[i]
			if s.f.x[ri] > 0 {
				comb[i] = 1
			}
		}
		r, f, _ := score(samples, comb, th)
		t.Logf("variant-out, rules or model at %.1f: recall=%.4f fpr=%.4f", th, r, f)
	}
	var train, dev []sample
	for _, s := range samples {
		switch s.corpus {
		case 0:
			train = append(train, s)
		case 1:
			dev = append(dev, s)
		}
	}
	tm := fit(train, fitSettings())
	dprobs := make([]float64, len(dev))
	for i, s := range dev {
		dprobs[i] = tm.prob(s.f)
	}
	for _, th := range []float64{0.3, 0.4, 0.5} {
		r, f, _ := score(dev, dprobs, th)
		t.Logf("fitted on phi-train, scored on phi-dev at %.1f: recall=%.4f fpr=%.4f", th, r, f)
	}
	if *dumpFlag != "" {
		var b bytes.Buffer
		for i, s := range samples {
			fmt.Fprintf(&b, "%s\t%s\t%v\t%v\t%.4f\t%.4f\t%.0f\n", s.file, s.category, s.phi, s.healthCtx, probs[i], vprobs[i], s.f.x[ri])
		}
		os.WriteFile(*dumpFlag, b.Bytes(), 0o644)
	}
	_, _, misses := score(samples, vprobs, modelThreshold)
	sort.Strings(misses)
	for _, m := range misses {
		t.Log(m)
	}
	if !*trainFlag {
		return
	}
	m := fit(samples, fitSettings())
	var buf bytes.Buffer
	m.writeGo(&buf)
	if err := os.WriteFile("model_weights.go", buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	full := make([]float64, len(samples))
	for i, s := range samples {
		full[i] = m.prob(s.f)
	}
	r, f, _ := score(samples, full, modelThreshold)
	t.Logf("refitted on %d messages: recall=%.4f fpr=%.4f (in-sample)", len(samples), r, f)
}

// writeGo writes the model as Go source.
func (m linearModel) writeGo(buf *bytes.Buffer) {
	fmt.Fprintf(buf, "// Code generated by TestTrainModel (go test ./policy -run TestTrainModel -train); DO NOT EDIT.\n\n")
	fmt.Fprintf(buf, "package policy\n\n")
	fmt.Fprintf(buf, "// trainedModel holds the scorer's fitted weights: one row per named feature in the\n")
	fmt.Fprintf(buf, "// order of features (name, mean, scale, weight), then the word buckets whose weight\n// is not negligible (bucket, weight).\n")
	fmt.Fprintf(buf, "var trainedModel = newLinearModel(%.6f, []modelRow{\n", m.bias)
	for j, f := range features {
		fmt.Fprintf(buf, "\t{%q, %.6f, %.6f, %.6f},\n", f.name, m.mean[j], m.scale[j], m.w[j])
	}
	fmt.Fprintf(buf, "}, []bagEntry{\n")
	for k, w := range m.bag {
		if math.Abs(w) >= 0.0005 {
			fmt.Fprintf(buf, "\t{%d, %.4f},\n", k, w)
		}
	}
	fmt.Fprintf(buf, "})\n")
}
