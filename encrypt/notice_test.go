package encrypt

import (
	"bytes"
	"context"
	"mime"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealgate/sealgate/encrypt/pgp"
)

func TestNoticeHeadersAndBody(t *testing.T) {
	n := Notice{Subject: "Nachricht für Sie", BaseURL: "https://p.example.org/", Hostname: "gw.example.org"}.withDefaults()
	msg, err := n.build(noticeRequest{From: "", To: "pat@example.net", Token: "TOKEN", Expires: t0.Add(720 * time.Hour), Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	m, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		t.Fatalf("notification does not parse: %v", err)
	}
	dec, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil || dec != "Nachricht für Sie" {
		t.Errorf("Subject decodes to %q (%v)", dec, err)
	}
	from, err := mail.ParseAddress(m.Header.Get("From"))
	if err != nil || from.Address != "postmaster@gw.example.org" || from.Name != "gw.example.org" {
		t.Errorf("From for a bounce = %v (%v)", from, err)
	}
	if !strings.HasSuffix(m.Header.Get("Message-ID"), "@gw.example.org>") {
		t.Errorf("Message-ID %q", m.Header.Get("Message-ID"))
	}
	for i, line := range bytes.Split(msg, []byte("\r\n")) {
		if len(line) > 78 {
			t.Errorf("line %d is %d bytes long", i, len(line))
		}
		for _, c := range line {
			if c >= 0x80 {
				t.Fatalf("line %d is not 7-bit", i)
			}
		}
	}
	for _, want := range []string{"https://p.example.org/m/TOKEN", "27 December 2026 10:00 UTC", DefaultNoticeText[:40]} {
		if !bytes.Contains(msg, []byte(want)) {
			t.Errorf("notification lacks %q", want)
		}
	}
}

func TestNoticeRefusesLineBreaks(t *testing.T) {
	n := Notice{Subject: "Hello\r\nBcc: x@example.org", BaseURL: "https://p.example.org"}.withDefaults()
	if _, err := n.build(noticeRequest{From: "a@b.example", To: "c@d.example", Token: "T", Now: t0}); err == nil {
		t.Fatal("a subject with a line break was accepted")
	}
}

func TestWatcherAndReloadFollowTheKeyFolder(t *testing.T) {
	f := newFixture(t, nil, nil, nil)
	kr, err := pgp.LoadKeyring(f.keyDir, t0, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.c.cfg.Keyring = kr
	if ch := f.c.choose(context.Background(), f.c.cfg.Order, "new@example.net", map[string]bool{}, ""); ch.method != MethodTLS {
		t.Fatalf("before the key is added: %s", ch.method)
	}
	w := Watch(time.Hour, nil, kr) // the ticker never fires in this test
	defer w.Close()
	writeFile(t, f.keyDir, "new.asc", armoredPublic(t, newPGPKey(t, "new@example.net", 0)))
	// Make the change visible to the folder stamp even on coarse clocks.
	os.Chtimes(filepath.Join(f.keyDir, "new.asc"), t0, t0)
	ReloadAll(t0, f.c.cfg.Logger, kr)
	if ch := f.c.choose(context.Background(), f.c.cfg.Order, "new@example.net", map[string]bool{}, ""); ch.method != MethodPGP {
		t.Fatalf("after reload: %s, want pgp", ch.method)
	}
}
