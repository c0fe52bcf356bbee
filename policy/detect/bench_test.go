package detect

import (
	"context"
	"strings"
	"testing"
)

// benchProse is ordinary business prose with a few numbers, names and clinical words (the
// policy package's typical body).
const benchProse = "Hi Jordan, thanks for the update on the quarterly review. The clinic volumes " +
	"look steady and the new scheduling workflow saved about 2 hours per week. Please send " +
	"the revised budget by Friday, 10/14, and copy Priya on the vendor contract (ref 4471-22). " +
	"We still need to finish the training plan for the front desk and the parking update.\n"

func benchScan(b *testing.B, text []byte) {
	a := analyzer(b)
	opt := &Options{Recipients: map[string]bool{"jordan": true}, Senders: map[string]bool{"dana": true, "kim": true},
		Bag: NewBag(1 << 14)}
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		var c Counts
		if err := a.Scan(context.Background(), text, opt, &c); err != nil {
			b.Fatal(err)
		}
		opt.Bag.Reset()
	}
}

// BenchmarkScanPlainText is Scan over 1 MB of plain prose, with header names and a Bag as
// the policy engine calls it.
func BenchmarkScanPlainText(b *testing.B) {
	benchScan(b, []byte(strings.Repeat(benchProse, 1<<20/len(benchProse)+1)[:1<<20]))
}

// BenchmarkScanClinical is Scan over the labelled corpora's messages, raw, one after another:
// dense in names, numbers and clinical words.
func BenchmarkScanClinical(b *testing.B) {
	var text []byte
	for _, in := range goldenInputs(b) {
		if strings.HasPrefix(in.name, "phi-") {
			text = append(text, in.text...)
		}
	}
	benchScan(b, text)
}
