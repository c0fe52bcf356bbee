package portal

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-message"

	"github.com/sealgate/sealgate/portal/keywrap"
	"github.com/sealgate/sealgate/store"
)

// panicLog records whether the site logged a recovered panic.
type panicLog struct {
	mu    sync.Mutex
	panic bool
}

func (p *panicLog) Enabled(context.Context, slog.Level) bool { return true }
func (p *panicLog) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "panic") {
		p.mu.Lock()
		p.panic = true
		p.mu.Unlock()
	}
	return nil
}
func (p *panicLog) WithAttrs([]slog.Attr) slog.Handler { return p }
func (p *panicLog) WithGroup(string) slog.Handler      { return p }

// formRoutes are the endpoints that read a visitor's form.
var formRoutes = []string{"/code/send", "/code/verify", "/password", "/totp", "/reply", "/logout", "/m/x", "/attachment/0"}

// FuzzForms posts arbitrary bodies, content types and form fields to
// every endpoint that reads a form, with a signed-in session, a decoy and
// none: nothing panics, no input comes back unescaped, and a reply that
// goes out is a well-formed message with only the portal's own headers.
func FuzzForms(f *testing.F) {
	srv, out, plog, sessions := newFuzzPortal(f)
	f.Add(uint8(4), uint8(0), "text/plain", "", "Thanks <sealgate-xss>", "a\r\nBcc: x@evil.test.txt", []byte("data"))
	f.Add(uint8(1), uint8(1), "application/x-www-form-urlencoded", "code=1234-5678&csrf=", "", "", []byte(nil))
	f.Add(uint8(2), uint8(0), "application/x-www-form-urlencoded", "password=aaaaaaaaaaaa&confirm=aaaaaaaaaaaa", "", "", []byte(nil))
	f.Add(uint8(4), uint8(0), "text/html; charset=\"x\r\n\"", "", "hi", "..\\..\\etc\\passwd", []byte{0, 1, 2})
	f.Add(uint8(3), uint8(2), "multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"code\"\r\n\r\n123456\r\n--x--\r\n", "", "", []byte(nil))
	f.Fuzz(func(t *testing.T, route, who uint8, ctype, raw, text, filename string, file []byte) {
		restore(srv, sessions)
		path := formRoutes[int(route)%len(formRoutes)]
		sess := sessions[int(who)%len(sessions)]
		body, contentType := raw, "application/x-www-form-urlencoded"
		if path == "/reply" && raw == "" {
			body, contentType = replyBody(sess.csrf, text, filename, ctype, file)
		} else if ctype != "" && raw != "" {
			contentType = ctype
		}
		if !strings.Contains(body, "csrf=") && strings.HasPrefix(contentType, "application/x-www") {
			body += "&csrf=" + sess.csrf
		}
		method := "POST"
		if strings.HasPrefix(path, "/m/") || strings.HasPrefix(path, "/attachment/") {
			method = "GET"
		}
		req := httptest.NewRequest(method, "https://portal.test"+path, strings.NewReader(body))
		req.RemoteAddr = "192.0.2.10:4000"
		req.Header.Set("Content-Type", contentType)
		if sess.id != "" {
			req.AddCookie(&http.Cookie{Name: cookieName, Value: sess.id})
		}
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		plog.mu.Lock()
		panicked := plog.panic
		plog.mu.Unlock()
		if panicked {
			t.Fatalf("panic serving %s %q", path, body)
		}
		if strings.Contains(rec.Body.String(), "<sealgate-xss>") {
			t.Fatalf("input came back unescaped from %s", path)
		}
		for _, m := range out.take() {
			checkPortalMail(t, m)
		}
	})
}

func replyBody(csrf, text, filename, ctype string, file []byte) (string, string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.WriteField("csrf", csrf)
	mw.WriteField("text", text)
	h := make(map[string][]string)
	h["Content-Disposition"] = []string{`form-data; name="files"; filename="` + strings.NewReplacer(`"`, `\"`, "\\", "\\\\").Replace(filename) + `"`}
	h["Content-Type"] = []string{ctype}
	if w, err := mw.CreatePart(h); err == nil {
		w.Write(file)
	}
	mw.Close()
	return b.String(), mw.FormDataContentType()
}

// portalHeaders are the only header fields portal mail has.
var portalHeaders = map[string]bool{"From": true, "To": true, "Subject": true, "Date": true, "Message-Id": true,
	"Mime-Version": true, "Auto-Submitted": true, "Reply-To": true, "Content-Type": true, "Content-Transfer-Encoding": true,
	"Content-Language": true}

func checkPortalMail(t *testing.T, m Mail) {
	e, err := message.Read(bytes.NewReader(m.Data))
	if err != nil {
		t.Fatalf("portal mail does not parse: %v\n%q", err, m.Data)
	}
	for f := e.Header.Fields(); f.Next(); {
		if !portalHeaders[f.Key()] {
			t.Fatalf("portal mail has header %q:\n%q", f.Key(), m.Data)
		}
	}
	if mr := e.MultipartReader(); mr != nil {
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("portal mail part: %v\n%q", err, m.Data)
			}
			for f := p.Header.Fields(); f.Next(); {
				if k := f.Key(); k != "Content-Type" && k != "Content-Disposition" && k != "Content-Transfer-Encoding" {
					t.Fatalf("portal mail part has header %q:\n%q", k, m.Data)
				}
			}
		}
	}
}

// fuzzOutbox keeps the mail of one fuzz input.
type fuzzOutbox struct {
	mu    sync.Mutex
	mails []Mail
}

func (o *fuzzOutbox) Send(_ context.Context, m Mail) error {
	o.mu.Lock()
	o.mails = append(o.mails, m)
	o.mu.Unlock()
	return nil
}

func (o *fuzzOutbox) take() []Mail {
	o.mu.Lock()
	defer o.mu.Unlock()
	m := o.mails
	o.mails = nil
	return m
}

// newFuzzPortal is a portal on a fresh store with one message and three
// visitors: signed in (needs a password the visitor may set), a decoy,
// and none.
func newFuzzPortal(f *testing.F) (*Server, *fuzzOutbox, *panicLog, []session) {
	master, err := keywrap.NewMaster(bytes.Repeat([]byte{7}, keywrap.KeySize))
	if err != nil {
		f.Fatal(err)
	}
	st, err := store.Open(context.Background(), store.Options{Backend: "sqlite", Dir: f.TempDir(), Master: master})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close(context.Background()) })
	if _, err := st.Put(context.Background(), store.Item{ID: "m1", Sender: "dr@clinic.example", Recipient: "pat@home.example",
		Content: sampleContent()}); err != nil {
		f.Fatal(err)
	}
	out, plog := &fuzzOutbox{}, &panicLog{}
	srv, err := New(Options{Store: st, Master: master, Sender: out, From: "portal@clinic.example",
		MaxRequestsPerClient: 1 << 30, MaxLinksPerClient: 1 << 30, MaxFailuresPerClient: 1 << 30, MaxCodesPerClient: 1 << 30,
		MaxCodeAttempts: 1 << 30, SessionIdle: 24 * time.Hour, RequirePassword: true, Log: slog.New(plog)})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { srv.drain(context.Background()) })
	authed := srv.sessions.create("m1")
	srv.sessions.update(authed.id, func(p *session) { p.codeOK, p.authed, p.recipient = true, true, "pat@home.example" })
	factor := srv.sessions.create("m1")
	srv.sessions.update(factor.id, func(p *session) { p.codeOK, p.recipient = true, "pat@home.example" })
	var visitors []session
	for _, id := range []string{authed.id, factor.id} {
		s, _ := srv.sessions.(*sessions).snapshot(id)
		visitors = append(visitors, s)
	}
	return srv, out, plog, append(visitors, srv.decoys.create(), session{})
}

// snapshot is a copy of a stored session.
func (ss *sessions) snapshot(id string) (session, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	p := ss.m[id]
	if p == nil {
		return session{}, false
	}
	return *p, true
}

// restore puts the sessions back as they were, so every fuzz input starts
// from the same state (a logout or failed factor changes them).
func restore(srv *Server, visitors []session) {
	ss := srv.sessions.(*sessions)
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for _, v := range visitors {
		if v.id != "" && !v.decoy {
			c := v
			c.lastSeen = time.Now()
			ss.m[v.id] = &c
		}
	}
}
