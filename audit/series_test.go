package audit

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sealgate/sealgate/mail"
)

// rotatedSeries writes a log rotated twice the way logrotate numbers
// files (audit.log.2 oldest, .1, then audit.log), with modification times
// that lie about the order, and a compressed file that is not read.
func rotatedSeries(t *testing.T, key []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "audit.log")
	l, err := Open(p, Options{Key: key, CheckpointEvery: 3, CheckpointInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 7 {
		if i == 3 {
			os.Rename(p, p+".1")
		}
		if i == 5 {
			os.Rename(p+".1", p+".2")
			os.Rename(p, p+".1")
		}
		l.Accepted(&mail.Envelope{ID: fmt.Sprintf("q%d", i), From: "lab@clinic.example.org",
			Policy: mail.PolicySummary{PHI: true, Rules: []string{"r1", "r2"}, Reasons: []string{"mrn×1"}}})
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	newest := time.Now().Add(time.Hour)
	os.Chtimes(p+".2", newest, newest)
	os.WriteFile(p+".3.gz", []byte("not read"), 0o600)
	return p
}

func TestSeriesIsInChainOrder(t *testing.T) {
	t.Parallel()
	key := testKey(t)
	p := rotatedSeries(t, key)
	files, err := Series(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{p + ".2", p + ".1", p}; !slices.Equal(files, want) {
		t.Fatalf("series %q, want %q", files, want)
	}
	rep, err := Verify(files, pubOf(key))
	if err != nil || rep.Broken != nil || rep.FirstSeq != 1 || rep.Unsigned != 0 {
		t.Fatalf("the series does not verify from seq 1: %+v %v", rep, err)
	}
	// An empty current file (just rotated) is left out; the rest stands.
	os.Rename(p, p+".0")
	os.WriteFile(p, nil, 0o600)
	if files, _ = Series(p); len(files) != 3 || files[2] != p+".0" {
		t.Errorf("after one more rotation: %q", files)
	}
	if _, err := Series(filepath.Join(t.TempDir(), "audit.log")); err == nil {
		t.Error("a log that is not there gives a series")
	}
}

// TestScanHandsEveryRecordOnce: Scan passes each record, in chain order,
// with its fields (rules and reasons included), and says up to where a
// signature covers them; after an edit nothing past the break is passed.
func TestScanHandsEveryRecordOnce(t *testing.T) {
	t.Parallel()
	key := testKey(t)
	p := rotatedSeries(t, key)
	files, _ := Series(p)
	var got []Entry
	rep, err := Scan(files, pubOf(key), func(e Entry) { got = append(got, e) })
	if err != nil || rep.Broken != nil {
		t.Fatal(rep.Broken, err)
	}
	if len(got) != 7 {
		t.Fatalf("%d records, want 7", len(got))
	}
	for i, e := range got {
		if e.QueueID != fmt.Sprintf("q%d", i) || e.Event.Event != "accepted" || !slices.Equal(e.Rules, []string{"r1", "r2"}) ||
			!slices.Equal(e.Finds, []string{"mrn×1"}) || *e.From != "lab@clinic.example.org" {
			t.Errorf("record %d: %+v", i, e)
		}
		if e.Seq >= rep.SignedThrough {
			t.Errorf("record seq %d not below the last checkpoint %d after Close checkpointed the log", e.Seq, rep.SignedThrough)
		}
		if i > 0 && e.Seq <= got[i-1].Seq {
			t.Errorf("record %d out of order", i)
		}
	}
	lines := readLines(t, files[1])
	lines[0] = strings.Replace(lines[0], `"q3"`, `"q9"`, 1)
	writeLines(t, files[1], lines)
	got = got[:0]
	rep, _ = Scan(files, pubOf(key), func(e Entry) { got = append(got, e) })
	if rep.Broken == nil || rep.Broken.File != files[1] || rep.Broken.Line != 1 {
		t.Fatalf("edit not found at %s:1: %+v", files[1], rep.Broken)
	}
	for _, e := range got {
		if e.File == files[1] && e.Line > 1 || e.File == files[2] {
			t.Errorf("a record after the break was handed over: %s:%d", e.File, e.Line)
		}
	}
}
