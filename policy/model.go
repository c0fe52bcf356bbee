package policy

import (
	"fmt"
	"math"
	"sort"
)

// modelThreshold is the probability from which the scorer calls a message PHI. The
// scorer is fitted with PHI examples weighted twice (fitOptions.posW), so one half
// already leans towards protecting: a missed PHI message leaves in the clear, a false
// alarm only sends a message protected.
const modelThreshold = 0.5

// linearModel is a logistic regression over standardised features.
type linearModel struct {
	err   error // the generated weights do not match the features
	bias  float64
	mean  []float64
	scale []float64
	w     []float64
	bag   []float64 // weights of the word buckets, bagSize of them
}

// modelRow is one feature's line in model_weights.go.
type modelRow struct {
	name                string
	mean, scale, weight float64
}

// newLinearModel builds the model from its generated rows, checking that they match
// the features this binary computes; a stale model_weights.go makes New fail.
func newLinearModel(bias float64, rows []modelRow, bag []bagEntry) linearModel {
	if len(rows) != len(features) {
		return linearModel{err: fmt.Errorf("policy: the model has %d features, the scorer computes %d: regenerate model_weights.go", len(rows), len(features))}
	}
	m := linearModel{bias: bias}
	for i, r := range rows {
		if r.name != features[i].name {
			return linearModel{err: fmt.Errorf("policy: model feature %d is %q, the scorer's is %q: regenerate model_weights.go", i, r.name, features[i].name)}
		}
		m.mean = append(m.mean, r.mean)
		m.scale = append(m.scale, r.scale)
		m.w = append(m.w, r.weight)
	}
	m.bag = make([]float64, bagSize)
	for _, b := range bag {
		if b.k < 0 || b.k >= bagSize {
			return linearModel{err: fmt.Errorf("policy: model word bucket %d out of range: regenerate model_weights.go", b.k)}
		}
		m.bag[b.k] = b.v
	}
	return m
}

func (m linearModel) standardise(x []float64) []float64 {
	z := make([]float64, len(x))
	for j, v := range x {
		if m.scale[j] > 0 {
			z[j] = (v - m.mean[j]) / m.scale[j]
		}
	}
	return z
}

// prob is the model's probability that a message with features f carries PHI.
func (m linearModel) prob(f featureVector) float64 {
	a := dot(m.w, m.standardise(f.x)) + m.bias
	for _, b := range f.bag {
		a += m.bag[b.k] * b.v
	}
	return sigmoid(a)
}

func sigmoid(v float64) float64 { return 1 / (1 + math.Exp(-v)) }

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// Contribution is one feature's share of a verdict's score, for --explain.
type Contribution struct {
	Feature string  `json:"feature"`
	Value   float64 `json:"value"`
	Weight  float64 `json:"weight"` // value's effect on the log-odds
}

// contributions lists the features that moved the score, largest effect first.
func (m linearModel) contributions(x []float64, n int) []Contribution {
	z := m.standardise(x)
	var out []Contribution
	for j, v := range z {
		if x[j] == 0 {
			continue
		}
		out = append(out, Contribution{Feature: features[j].name, Value: x[j], Weight: m.w[j] * v})
	}
	sort.Slice(out, func(a, b int) bool { return math.Abs(out[a].Weight) > math.Abs(out[b].Weight) })
	if len(out) > n {
		out = out[:n]
	}
	return out
}
