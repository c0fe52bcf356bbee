package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/sealgate/sealgate/feedback"
	"github.com/sealgate/sealgate/verp"
)

// TestUntracedComplaintLogsNoReportText: a complaint that names no message
// of this gateway is logged with its Feedback-Type only when that is one
// of the registered ARF types; the header's text, which any sender writes,
// never reaches the operational log.
func TestUntracedComplaintLogsNoReportText(t *testing.T) {
	tokens, err := verp.NewTokens(bytes.Repeat([]byte{7}, verp.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	h := &reportHandler{addrs: &verp.Addresses{Tokens: tokens, Domain: "bounce.clinic.example.org"},
		log: slog.New(slog.NewTextHandler(&logged, nil))}
	for _, tc := range []struct{ feedbackType, want string }{
		{"abuse", "feedback_type=abuse"},
		{"pat.doe@example.net has HIV, MRN 4471-22 " + strings.Repeat("x", 4000), "feedback_type=unknown"},
	} {
		logged.Reset()
		rep := &feedback.Report{Kind: feedback.KindARF, FeedbackType: tc.feedbackType}
		if _, ok, err := h.recipient(context.Background(), feedback.Target{Feedback: true}, rep); ok || err != nil {
			t.Fatalf("an untraceable complaint was taken: %v %v", ok, err)
		}
		out := logged.String()
		if !strings.Contains(out, tc.want) || strings.Contains(out, "pat.doe") || strings.Contains(out, "HIV") || len(out) > 300 {
			t.Errorf("Feedback-Type %.20q logged as %.160q, want %s and nothing of the report", tc.feedbackType, out, tc.want)
		}
	}
}
