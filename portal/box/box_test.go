package box

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sealgate/sealgate/encrypt/portalbox"
	"github.com/sealgate/sealgate/portal/keywrap"
	"github.com/sealgate/sealgate/store"
)

const message = "From: Dr Jones <dr.jones@clinic.example>\r\n" +
	"To: pat@home.example\r\n" +
	"Subject: =?utf-8?q?Your_r=C3=A9sults?=\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=outer\r\n\r\n" +
	"--outer\r\n" +
	"Content-Type: multipart/alternative; boundary=inner\r\n\r\n" +
	"--inner\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nR=E9sults are normal.\r\n" +
	"--inner\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Results are <b>normal</b>.</p>\r\n" +
	"--inner--\r\n" +
	"--outer\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"../../lab.pdf\"\r\n" +
	"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n" +
	"--outer--\r\n"

func TestParse(t *testing.T) {
	c, err := Parse([]byte(message))
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != "Your résults" || c.Text != "Résults are normal." || c.HTML != "<p>Results are <b>normal</b>.</p>" {
		t.Fatalf("parsed %q / %q / %q", c.Subject, c.Text, c.HTML)
	}
	if len(c.Attachments) != 1 || c.Attachments[0].Name != "lab.pdf" || c.Attachments[0].Type != "application/pdf" ||
		string(c.Attachments[0].Data) != "%PDF-1.4\n" {
		t.Fatalf("attachments %+v", c.Attachments)
	}
}

func TestPortalboxContract(t *testing.T) {
	ctx := context.Background()
	m, _ := keywrap.NewMaster(bytes.Repeat([]byte{1}, keywrap.KeySize))
	st, err := store.Open(ctx, store.Options{Dir: t.TempDir(), Master: m})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
	var b portalbox.Store = New(st)
	it := portalbox.Item{QueueID: "Q7", Recipient: "pat@home.example", Sender: "dr.jones@clinic.example",
		Message: []byte(message), Expires: time.Now().Add(time.Hour)}
	tok1, err := b.Put(ctx, it)
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.Get(ctx, tok1)
	if err != nil || got.QueueID != "Q7" || !bytes.Equal(got.Message, it.Message) || got.Sender != it.Sender {
		t.Fatalf("get: %+v %v", got, err)
	}
	tok2, err := b.Put(ctx, it) // a retried hand-off
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(ctx, tok1); !errors.Is(err, portalbox.ErrNotFound) {
		t.Fatalf("old link after replace: %v", err)
	}
	if err := b.Delete(ctx, tok2); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(ctx, tok2); !errors.Is(err, portalbox.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if err := b.Delete(ctx, "nope"); !errors.Is(err, portalbox.ErrNotFound) {
		t.Fatalf("delete unknown: %v", err)
	}
	if id := MessageID("Q7", "Pat@Home.example"); id != MessageID("Q7", "pat@home.example") || bytes.Contains([]byte(id), []byte("pat")) {
		t.Fatalf("message ID %q", id)
	}
}

// FuzzParse: any input either parses or fails with an error, attachment
// names never carry a path, and nothing panics.
func FuzzParse(f *testing.F) {
	f.Add([]byte(message))
	f.Add([]byte("Subject: x\r\n\r\nbody"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := Parse(raw)
		if err != nil {
			return
		}
		for _, a := range c.Attachments {
			if a.Name == "" || strings.ContainsAny(a.Name, "/\\") || a.Name == ".." {
				t.Fatalf("attachment name %q", a.Name)
			}
		}
	})
}
