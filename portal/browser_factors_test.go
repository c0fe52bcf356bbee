package portal

import (
	"context"
	"encoding/base32"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealgate/sealgate/portal/totp"
)

// TestBrowserSecondFactors: with a password and an authenticator app
// required, a first visit sets the password and enrols the app in the
// browser, then reads the message.
func TestBrowserSecondFactors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	h := newHarness(t, func(o *Options) {
		o.Listen, o.TLS = "127.0.0.1:0", tlsConfig(t)
		o.RequirePassword, o.RequireTOTP = true, true
	})
	if err := h.srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.srv.Close(context.Background()) })
	tok := h.put("m1", "pat@home.example", sampleContent())
	b := chromium(t, ctx)
	shots := artifacts(t)
	must, _, at := browserSteps(t, ctx, b)
	shot := func(name string) {
		p := filepath.Join(shots, name+".png")
		must(b.Screenshot(ctx, p))
		t.Logf("screenshot %s", p)
	}
	must(b.Navigate(ctx, "https://"+h.srv.Addr().String()+"/m/"+tok))
	at("/pickup", "Check it's you")
	must(b.Eval(ctx, `document.querySelector('#send').click()`, nil))
	at("/code/send", "Enter your code")
	code := h.out.lastCode("pat@home.example")
	must(b.Eval(ctx, fmt.Sprintf(`document.querySelector('#code').value = %q; document.querySelector('#verify').click()`, code), nil))
	at("/verify", "Choose a password")
	shot("01-choose-password")
	must(b.Eval(ctx, `document.querySelector('#password').value = 'my long passphrase';
		document.querySelector('#confirm').value = 'my long passphrase';
		document.querySelector('#set-password').click()`, nil))
	at("/verify", "Add this account to your authenticator app")
	shot("02-enrol-authenticator")
	var shown string
	must(b.Eval(ctx, `document.querySelector('#secret').textContent`, &shown))
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ReplaceAll(shown, " ", ""))
	must(err)
	otp := totp.Code(secret, totp.Step(h.clk.Now()), totp.Digits)
	must(b.Eval(ctx, fmt.Sprintf(`document.querySelector('#code').value = %q; document.querySelector('#check-totp').click()`, otp), nil))
	at("/message", "Your secure message")
	checkLabels(t, ctx, b)
}
