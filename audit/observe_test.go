package audit

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealgate/sealgate/mail"
)

// TestObserverSeesSeqAndFile: an observer is told of each record with the
// sequence number and file it was written as, the same the log holds;
// after SetObserver(nil) it is told nothing more.
func TestObserverSeesSeqAndFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Rejected("ehr", "127.0.0.1", "auth") // seq 1, before the observer
	type seen struct {
		seq  uint64
		file string
		e    Event
	}
	var got []seen
	l.SetObserver(func(seq uint64, file string, e Event) { got = append(got, seen{seq, file, e}) })
	l.Accepted(&mail.Envelope{ID: "Q1", Client: "ehr", Rcpts: []mail.Rcpt{{Addr: "pat@example.net"}}})
	l.SetObserver(nil)
	l.Rejected("ehr", "127.0.0.1", "auth")
	if len(got) != 1 || got[0].seq != 2 || got[0].file != path || got[0].e.Event != "accepted" || got[0].e.QueueID != "Q1" {
		t.Fatalf("observed %+v", got)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	var rec struct {
		Seq   uint64 `json:"seq"`
		Event string `json:"event"`
	}
	if len(lines) != 3 || json.Unmarshal([]byte(lines[1]), &rec) != nil || rec.Seq != 2 || rec.Event != "accepted" {
		t.Fatalf("log: %q (second record %+v)", lines, rec)
	}
}
