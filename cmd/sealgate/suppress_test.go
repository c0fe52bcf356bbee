package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealgate/sealgate/store"
)

// TestSuppressionAtRCPT: once an address is on the list of
// clinic.example.org, the marketing client's RCPT to it is refused with
// 550 5.7.1 over real SMTP, while the transactional client's mail to the
// same address from the same domain is accepted and delivered (except from
// the transactional client configured with check_suppression); other
// sending domains are not affected, and removal lets mail through again.
func TestSuppressionAtRCPT(t *testing.T) {
	t.Parallel()
	e := newCampaignEnv(t, "")
	if err := e.send("news", "news@clinic.example.org", "pat@example.net", campaignMessage("m0@clinic", "pat@example.net")); err != nil {
		t.Fatalf("before suppression: %v", err)
	}
	code, out, errOut := runCLI("suppress", "add", "Pat@Example.NET", "--domain", "clinic.example.org", "--reason", "complaint", "--config", e.path)
	if code != 0 {
		t.Fatalf("suppress add: %d %s %s", code, out, errOut)
	}
	err := e.send("news", "news@clinic.example.org", "pat@example.net", campaignMessage("m1@clinic", "pat@example.net"))
	if !isSuppressedReply(err) {
		t.Fatalf("marketing RCPT to a suppressed address: %v, want 550 5.7.1", err)
	}
	if err := e.send("ehr", "reminders@clinic.example.org", "pat@example.net", campaignMessage("t1@clinic", "pat@example.net")); err != nil {
		t.Fatalf("transactional mail to a suppressed address: %v", err)
	}
	if err := e.send("billing", "billing@clinic.example.org", "pat@example.net", campaignMessage("b1@clinic", "pat@example.net")); !isSuppressedReply(err) {
		t.Fatalf("check_suppression client's RCPT to a suppressed address: %v, want 550 5.7.1", err)
	}
	if err := e.send("news", "news@clinic.example.org", "sam@example.net", campaignMessage("m2@clinic", "sam@example.net")); err != nil {
		t.Fatalf("marketing mail to an address not on the list: %v", err)
	}
	msgs, err := e.sink.Wait(3, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if strings.Contains(string(m.Data), "m1@clinic") || strings.Contains(string(m.Data), "b1@clinic") {
			t.Fatal("a refused message was delivered")
		}
	}
	if code, _, _ := runCLI("suppress", "remove", "pat@example.net", "--domain", "clinic.example.org", "--config", e.path); code != 0 {
		t.Fatalf("suppress remove: %d", code)
	}
	if err := e.send("news", "news@clinic.example.org", "pat@example.net", campaignMessage("m3@clinic", "pat@example.net")); err != nil {
		t.Fatalf("after removal: %v", err)
	}
	uid := fmt.Sprintf("uid=%d", os.Getuid())
	want := []string{"add clinic.example.org pat@example.net complaint " + uid, "remove clinic.example.org pat@example.net  " + uid}
	if got := suppressionEvents(t, filepath.Join(e.dir, "audit.log")); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit: %q, want %q", got, want)
	}
}

// suppressionEvents reads the suppression events of an audit log as
// "action domain rcpt reason operator-uid".
func suppressionEvents(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var ev map[string]string
		json.Unmarshal([]byte(line), &ev) // non-string fields leave zero values
		if ev["event"] == "suppression" {
			who, _, _ := strings.Cut(ev["operator"], "(")
			out = append(out, strings.Join([]string{ev["action"], ev["domain"], ev["rcpt"], ev["reason"], who}, " "))
		}
	}
	return out
}

// TestSuppressCLIRoundTrip: add, list, export, remove everything, import
// the export, and the list is what it was.
func TestSuppressCLIRoundTrip(t *testing.T) {
	t.Parallel()
	e := newCampaignEnv(t, "")
	cfg := []string{"--config", e.path}
	for _, a := range [][]string{
		{"suppress", "add", "a@example.net", "--domain", "clinic.example.org", "--reason", "hard_bounce"},
		{"suppress", "add", "b@example.net", "--domain", "clinic.example.org"},
		{"suppress", "add", "a@example.net", "--domain", "other.example.org", "--reason", "unsubscribe"},
	} {
		if code, out, errOut := runCLI(append(a, cfg...)...); code != 0 {
			t.Fatalf("%v: %d %s %s", a, code, out, errOut)
		}
	}
	if code, _, errOut := runCLI(append([]string{"suppress", "add", "c@example.net", "--domain", "clinic.example.org", "--reason", "bored"}, cfg...)...); code != 1 || !strings.Contains(errOut, "not one of") {
		t.Fatalf("bad reason: %d %s", code, errOut)
	}
	list := func(args ...string) []store.Suppression {
		t.Helper()
		code, out, errOut := runCLI(append(append([]string{"suppress", "list", "--json"}, args...), cfg...)...)
		var l []store.Suppression
		if code != 0 || json.Unmarshal([]byte(out), &l) != nil {
			t.Fatalf("list: %d %s %s", code, out, errOut)
		}
		return l
	}
	before := list()
	if len(before) != 3 || len(list("--domain", "clinic.example.org")) != 2 || before[0].Reason != "hard_bounce" || before[1].Reason != "manual" {
		t.Fatalf("list: %+v", before)
	}
	code, csvOut, _ := runCLI(append([]string{"suppress", "export"}, cfg...)...)
	if code != 0 || !strings.HasPrefix(csvOut, "domain,address,reason,time\n") || strings.Count(csvOut, "\n") != 4 {
		t.Fatalf("export: %d\n%s", code, csvOut)
	}
	for _, s := range before {
		if code, _, errOut := runCLI(append([]string{"suppress", "remove", s.Address, "--domain", s.Domain}, cfg...)...); code != 0 {
			t.Fatalf("remove %s: %s", s.Address, errOut)
		}
	}
	if l := list(); len(l) != 0 {
		t.Fatalf("after removing all: %+v", l)
	}
	file := filepath.Join(t.TempDir(), "list.csv")
	os.WriteFile(file, []byte(csvOut), 0o600)
	if code, out, errOut := runCLI(append([]string{"suppress", "import", file}, cfg...)...); code != 0 || !strings.Contains(out, "imported 3") {
		t.Fatalf("import: %d %s %s", code, out, errOut)
	}
	after := list()
	if len(after) != len(before) {
		t.Fatalf("after import: %+v, want %+v", after, before)
	}
	for i := range after {
		if after[i].Domain != before[i].Domain || after[i].Address != before[i].Address || after[i].Reason != before[i].Reason ||
			!after[i].At.Equal(before[i].At.Truncate(time.Second)) {
			t.Errorf("row %d: %+v, want %+v", i, after[i], before[i])
		}
	}
	// A file with one bad row imports nothing.
	os.WriteFile(file, []byte("address,reason\nz@example.net,manual\nnot-an-address,manual\n"), 0o600)
	if code, _, errOut := runCLI(append([]string{"suppress", "import", file, "--domain", "x.example.org"}, cfg...)...); code != 1 || !strings.Contains(errOut, "line 3") {
		t.Fatalf("bad import: %d %s", code, errOut)
	}
	if l := list("--domain", "x.example.org"); len(l) != 0 {
		t.Fatalf("a failed import stored rows: %+v", l)
	}
}
