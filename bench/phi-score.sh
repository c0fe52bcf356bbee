#!/usr/bin/env bash
# Scores the PHI detection of `sealgate check` on the labelled corpora in testdata/ with
# the corpora's own scorer, and prints recall, false-positive rate and the errors per
# category for each. The scorer is fitted on these corpora, so these are in-sample
# figures; `go test ./policy -run TestTrainModel -v` prints the held-out ones.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d)/sealgate
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./cmd/sealgate
for corpus in phi-dev phi-train; do
  echo "== $corpus"
  python3 testdata/phi-dev/score.py --dir "testdata/$corpus" --cmd "$bin check" --jobs 2 |
    sed -n '/^corpus:/,/^latency/p;/^categories with errors/,/^$/p;$p'
done
