package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/sealgate/sealgate/internal/smtpsink"
)

// TestAPIMessageGetsThePolicy: the PHI message posted as JSON to the HTTP
// API is judged and protected as the same message over SMTP: the
// recipient with an OpenPGP key gets it encrypted to that key, the one
// whose destination cannot be authenticated gets only a portal notice,
// and neither copy shows the PHI in the clear.
func TestAPIMessageGetsThePolicy(t *testing.T) {
	t.Parallel()
	e := newProtEnvYAML(t, nil, nil, func(string, *smtpsink.TestCA) string { return "api: {listen: \"127.0.0.1:0\"}\n" })
	a := processAPIClient(t, e.path, e.ca, "ehr")
	a.env, a.url = e.env, "https://"+e.gw.api.Addr().String()
	msg := map[string]any{"from": "Lab <lab@clinic.example.org>", "to": []string{"pgp@example.net", "nobody@bad.example"},
		"subject": "Your biopsy results", "text": protBody,
		"attachments": []map[string]string{{"filename": "labs.csv", "content_type": "text/csv", "content": protAttachmentB64}}}
	if status, body, _ := a.post(t, msg); status != 202 {
		t.Fatalf("POST: %d %v", status, body)
	}
	good, err := e.good.Wait(1, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	pgp := forRcpt(good, "pgp@example.net")
	if len(pgp) != 1 || !bytes.Contains(pgp[0].Data, []byte("multipart/encrypted")) || !bytes.Contains(pgp[0].Data, []byte("-----BEGIN PGP MESSAGE-----")) {
		t.Fatalf("the key holder's copy is not OpenPGP-encrypted (%d copies)", len(pgp))
	}
	checkNoPHI(t, "OpenPGP copy", pgp[0].Data)
	notices, err := e.bad.Wait(1, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	checkNotification(t, notices)
}
