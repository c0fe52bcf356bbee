package portal

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestBrowserLinkFromWebmail: a patient who opens the notification's
// link from a web mail page (another site) reaches the start page and can
// read the message; once the code is proven the session cookie is
// SameSite=Strict.
func TestBrowserLinkFromWebmail(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h := newHarness(t, func(o *Options) { o.Listen, o.TLS = "127.0.0.1:0", tlsConfig(t) })
	if err := h.srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.srv.Close(context.Background()) })
	tok := h.put("m1", "pat@home.example", sampleContent())
	link := "https://" + h.srv.Addr().String() + "/m/" + tok
	// The web mail: another site (localhost, not 127.0.0.1) showing the link.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	webmail := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!DOCTYPE html><title>Inbox</title><a id="open" href="%s">Open the message here</a>`, link)
	}), ReadHeaderTimeout: 5 * time.Second}
	go webmail.Serve(ln)
	t.Cleanup(func() { webmail.Close() })
	_, port, _ := net.SplitHostPort(ln.Addr().String())

	b := chromium(t, ctx)
	must, _, at := browserSteps(t, ctx, b)
	must(b.Navigate(ctx, "http://localhost:"+port+"/"))
	must(b.Eval(ctx, `document.querySelector('#open').click()`, nil))
	at("/pickup", "Check it's you")
	must(b.Eval(ctx, `document.querySelector('#send').click()`, nil))
	at("/code/send", "Enter your code")
	must(b.Eval(ctx, fmt.Sprintf(`document.querySelector('#code').value = %q; document.querySelector('#verify').click()`,
		h.out.lastCode("pat@home.example")), nil))
	at("/message", "Your secure message")
	var res struct {
		Cookies []struct {
			Name, SameSite string
		} `json:"cookies"`
	}
	must(b.Call(ctx, "Network.getAllCookies", nil, &res))
	found := false
	for _, c := range res.Cookies {
		if c.Name == cookieName {
			found = true
			if c.SameSite != "Strict" {
				t.Errorf("signed-in session cookie is SameSite=%s, want Strict", c.SameSite)
			}
		}
	}
	if !found {
		t.Error("no session cookie after sign-in")
	}
}
