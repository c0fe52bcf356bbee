package main

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/sealgate/sealgate/policy"
)

// explainCheck prints `sealgate check --explain`: the verdict, then per part what was
// read and what could not be read, the features that moved the score, and where the
// detectors fired (with the matched text only under --show-values).
func explainCheck(e *policy.Engine, msg []byte, in policy.Input, opt policy.ExplainOptions, asJSON bool, io stdio) int {
	ex, err := e.Explain(context.Background(), msg, in, opt)
	if err != nil {
		return io.fail("check: %v", err)
	}
	if asJSON {
		if printJSON(io.out, ex) != nil {
			return 1
		}
		return 0
	}
	w := io.out
	v := ex.Verdict
	fmt.Fprintf(w, "verdict: phi=%v action=%s score=%.3f (PHI from %.2f)", v.PHI, v.Action, v.Score, ex.Threshold)
	if v.Method != "" {
		fmt.Fprintf(w, " method=%s", v.Method)
	}
	if v.Rule != "" {
		fmt.Fprintf(w, " rule=%s", v.Rule)
	}
	fmt.Fprintf(w, "\nbytes scanned: %d\n", v.BytesScanned)
	if ex.Structured {
		fmt.Fprintln(w, "decided by structure: a clinical record that names its patient (HL7 PID, C-CDA recordTarget, or SSN/MBI with clinical data)")
	}
	if v.Unreadable {
		fmt.Fprintln(w, "some content could not be read: the message is treated as possibly PHI")
	}
	fmt.Fprintln(w, "\nparts:")
	for _, p := range ex.Parts {
		fmt.Fprintf(w, "  %-14s", p.Part)
		if p.MediaType != "" {
			fmt.Fprintf(w, " %s", p.MediaType)
		}
		fmt.Fprintf(w, " read %d bytes", p.BytesRead)
		if len(p.Unreadable) > 0 {
			fmt.Fprintf(w, "; UNREADABLE: %s", strings.Join(p.Unreadable, ", "))
		}
		if len(p.Detectors) > 0 {
			fmt.Fprintf(w, "; found: %s", detectorList(p.Detectors))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "\nwhat moved the score (effect on the log-odds):")
	for _, c := range ex.Contributions {
		fmt.Fprintf(w, "  %+7.3f  %s = %.2f\n", c.Weight, c.Feature, c.Value)
	}
	fmt.Fprintln(w, "\nfindings (part, byte offset in the text read from it):")
	for _, f := range ex.Findings {
		fmt.Fprintf(w, "  %-20s %-14s @%d+%d", f.Detector, f.Part, f.Offset, f.Length)
		if f.Value != "" {
			fmt.Fprintf(w, "  %q", f.Value)
		}
		fmt.Fprintln(w)
	}
	return 0
}

func detectorList(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		keys[i] = fmt.Sprintf("%s×%d", k, m[k])
	}
	return strings.Join(keys, ", ")
}
