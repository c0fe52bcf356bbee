package portal

import (
	"context"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sealgate/sealgate/internal/i18n"
	"github.com/sealgate/sealgate/portal/internal/cdp"
	"github.com/sealgate/sealgate/portal/totp"
)

// axeScript is axe-core as .ci/run installs it (portal/testdata/ci-setup.sh
// runs npm ci in portal/testdata/a11y).
const axeScript = "testdata/a11y/node_modules/axe-core/axe.min.js"

// wcagTags are the axe-core rule tags of WCAG 2.0, 2.1 and 2.2, levels A
// and AA.
var wcagTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"}

// anyCodeRE finds the code in a code mail in English or Spanish.
var anyCodeRE = regexp.MustCompile(`(?:is|es) (\d{4}) (\d{4})`)

// viewports: a phone and a desktop.
var viewports = []struct {
	name          string
	width, height int
	mobile        bool
}{{"phone", 390, 844, true}, {"desktop", 1280, 900, false}}

func loadAxe(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile(axeScript)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("axe-core is not installed (%v); .ci/run must run portal/testdata/ci-setup.sh", err)
		}
		t.Skipf("axe-core is not installed (%v); run portal/testdata/ci-setup.sh", err)
	}
	return string(src)
}

// loadAxeOrNil is axe-core's source, or "" outside CI when it is not
// installed (the caller then checks the rest).
func loadAxeOrNil(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile(axeScript)
	if err != nil && os.Getenv("CI") == "true" {
		t.Fatalf("axe-core is not installed (%v); .ci/run must run portal/testdata/ci-setup.sh", err)
	}
	return string(src)
}

// axeViolation is one failed rule, with the first few elements.
type axeViolation struct {
	ID, Impact, Help string
	Nodes            []string
}

// runAxe injects axe-core into the loaded page and runs the WCAG 2.2 A
// and AA rules.
func runAxe(ctx context.Context, b *cdp.Browser, src string) ([]axeViolation, error) {
	if err := b.Eval(ctx, src+";true", nil); err != nil {
		return nil, err
	}
	tags, _ := json.Marshal(wcagTags)
	expr := `axe.run(document, {runOnly: {type: 'tag', values: ` + string(tags) + `}, resultTypes: ['violations']})
		.then(r => r.violations.map(v => ({ID: v.id, Impact: v.impact || '', Help: v.help,
			Nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))})))`
	var res struct {
		Result struct {
			Value []axeViolation `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	err := b.Call(ctx, "Runtime.evaluate", map[string]any{"expression": expr, "awaitPromise": true, "returnByValue": true}, &res)
	if err != nil {
		return nil, err
	}
	if res.ExceptionDetails != nil {
		return nil, fmt.Errorf("axe: %s", res.ExceptionDetails.Text)
	}
	return res.Result.Value, nil
}

// TestBrowserAccessibility walks every portal page in English and Spanish
// in headless Chromium, runs axe-core's WCAG 2.2 A/AA rules on each at
// phone and desktop size (a violation fails the test), checks the page
// does not scroll sideways on the phone, and keeps a screenshot of each
// page at each size. The Spanish walk runs in a browser set to Spanish
// and to Chicago time: its pages must really be Spanish and the message's
// expiry must be in Chicago time. Each walk also opens a made-up link (its
// code page must offer the no-code help with the clinic's phone) and ends
// by switching language on the page, which later pages keep.
func TestBrowserAccessibility(t *testing.T) {
	src := loadAxe(t)
	for _, c := range []struct{ lang, accept, zone, until string }{
		{"en", "en-US,en;q=0.9", "Asia/Tokyo", "Wednesday 4 March 2026 at 18:00 (JST, Asia/Tokyo)"},
		{"es", "es-MX,es;q=0.9", "America/Chicago", "miércoles 4 de marzo de 2026, a las 03:00 (CST, America/Chicago)"},
	} {
		t.Run(c.lang, func(t *testing.T) { walkPages(t, src, c.lang, c.accept, c.zone, c.until) })
	}
}

// pageWalk drives one browser through the portal.
type pageWalk struct {
	t     *testing.T
	ctx   context.Context
	b     *cdp.Browser
	axe   string
	shots string
	n     int
	lang  string
}

func (w *pageWalk) must(err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
}

// at waits for path with heading h1, then checks the page.
func (w *pageWalk) at(path, h1, name string) {
	w.t.Helper()
	w.must(w.b.WaitFor(w.ctx, fmt.Sprintf("location.pathname === %q && document.readyState === 'complete' && document.querySelector('h1') && document.querySelector('h1').textContent === %q", path, h1)))
	w.check(name)
}

// check runs axe and takes screenshots at every viewport.
func (w *pageWalk) check(name string) {
	w.t.Helper()
	w.n++
	var lang string
	w.must(w.b.Eval(w.ctx, `document.documentElement.lang`, &lang))
	if lang != w.lang {
		w.t.Errorf("%s: <html lang=%q>, want %q", name, lang, w.lang)
	}
	for _, vp := range viewports {
		w.must(w.b.Call(w.ctx, "Emulation.setDeviceMetricsOverride", map[string]any{"width": vp.width, "height": vp.height,
			"deviceScaleFactor": 1, "mobile": vp.mobile}, nil))
		vs, err := runAxe(w.ctx, w.b, w.axe)
		w.must(err)
		for _, v := range vs {
			w.t.Errorf("%s (%s): WCAG violation %s [%s] %s at %v", name, vp.name, v.ID, v.Impact, v.Help, v.Nodes)
		}
		if vp.mobile {
			var overflow bool
			w.must(w.b.Eval(w.ctx, `document.documentElement.scrollWidth > window.innerWidth + 1`, &overflow))
			if overflow {
				w.t.Errorf("%s scrolls sideways on a phone", name)
			}
		}
		p := filepath.Join(w.shots, fmt.Sprintf("%s-%02d-%s-%s.png", w.lang, w.n, name, vp.name))
		w.must(w.b.Screenshot(w.ctx, p))
	}
	w.must(w.b.Call(w.ctx, "Emulation.clearDeviceMetricsOverride", nil, nil))
}

func (w *pageWalk) eval(js string) { w.t.Helper(); w.must(w.b.Eval(w.ctx, js, nil)) }

func walkPages(t *testing.T, axe, lang, accept, zone, until string) {
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	h, w := newWalk(t, ctx, axe, lang, accept, zone)
	base := "https://" + h.srv.Addr().String()
	tok := h.put("m1", "pat@home.example", sampleContent())
	tr := i18n.Get(lang).T

	w.must(w.b.Navigate(ctx, base+"/"))
	w.at("/", tr("info.home.title"), "home")
	// The checker finds what it should: a field without a label.
	w.eval(`document.querySelector('main').insertAdjacentHTML('beforeend', '<input type="text" id="unlabelled">')`)
	vs, err := runAxe(ctx, w.b, axe)
	w.must(err)
	if len(vs) == 0 || vs[0].ID != "label" {
		t.Fatalf("axe-core did not report an unlabelled field: %+v", vs)
	}
	w.must(w.b.Navigate(ctx, base+"/no/such/page"))
	w.at("/no/such/page", tr("info.notfound.title"), "not-found")
	w.must(w.b.Navigate(ctx, base+"/pickup"))
	w.at("/pickup", tr("info.nosession.title"), "no-session")
	// A made-up link: the same pages, and the code page says what to do
	// when no code comes.
	w.must(w.b.Navigate(ctx, base+"/m/"+strings.Repeat("A", len(tok))))
	w.at("/pickup", tr("start.title"), "start-made-up-link")
	w.eval(`document.querySelector('#send').click()`)
	w.at("/code/send", tr("code.title"), "code-made-up-link")
	var help string
	w.must(w.b.Eval(ctx, `document.querySelector('#nocode-h').textContent + ' ' + document.querySelector('#nocode a.tel').href`, &help))
	if want := tr("code.none.title", i18n.Get(lang).Minutes(noCodeMinutes)) + " tel:+15550100100"; help != want {
		t.Errorf("no-code help reads %q, want %q", help, want)
	}
	w.must(w.b.Navigate(ctx, base+"/m/"+tok))
	w.at("/pickup", tr("start.title"), "start")
	var tz string
	w.must(w.b.Eval(ctx, `document.querySelector('input[name=tz]').value`, &tz))
	if tz != zone {
		t.Errorf("the start page's form carries time zone %q, want the browser's %q", tz, zone)
	}
	w.eval(`document.querySelector('#send').click()`)
	w.at("/code/send", tr("code.title"), "code")
	w.eval(`document.querySelector('#code').value = '0000 0000'; document.querySelector('#verify').click()`)
	w.at("/code/verify", tr("code.title"), "code-wrong")
	// The code mail is in the page's language.
	ms := h.out.all()
	m := anyCodeRE.FindSubmatch(ms[len(ms)-1].Data)
	if m == nil {
		t.Fatalf("no code in the mail:\n%s", ms[len(ms)-1].Data)
	}
	code := string(m[1]) + string(m[2])
	w.eval(fmt.Sprintf(`document.querySelector('#code').value = %q; document.querySelector('#verify').click()`, code))
	w.at("/verify", tr("password.title.new"), "password-new")
	w.eval(`document.querySelector('#password').value = 'my long passphrase';
		document.querySelector('#confirm').value = 'my long passphrase';
		document.querySelector('#set-password').click()`)
	w.at("/verify", tr("totp.title.new"), "authenticator-new")
	var shown string
	var secret []byte
	w.must(w.b.Eval(ctx, `document.querySelector('#secret').textContent`, &shown))
	secret, err = base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ReplaceAll(shown, " ", ""))
	w.must(err)
	w.eval(fmt.Sprintf(`document.querySelector('#code').value = %q; document.querySelector('#check-totp').click()`,
		totp.Code(secret, totp.Step(h.clk.Now()), totp.Digits)))
	w.at("/message", tr("message.title"), "message")
	var got string
	w.must(w.b.Eval(ctx, `document.querySelector('#until').textContent`, &got))
	if got != until {
		t.Errorf("expiry shown as %q, want %q", got, until)
	}
	w.eval(`document.querySelector('#reply').value = 'Thank you.'; document.querySelector('#send-reply').click()`)
	w.at("/reply", tr("info.sent.title"), "reply-sent")
	w.must(h.st.Revoke(ctx, "m1", "test"))
	w.must(w.b.Navigate(ctx, base+"/message"))
	w.at("/message", tr("info.gone.title"), "gone")
	w.eval(`document.querySelector('#logout').click()`)
	w.at("/logout", tr("info.signedout.title"), "signed-out")
	if w.n != 14 {
		t.Errorf("checked %d pages, want 14", w.n)
	}
	w.switchLanguage(base)
}

// newWalk starts a portal for a clinic that asks for a password and an
// authenticator, and a browser set to accept and zone.
func newWalk(t *testing.T, ctx context.Context, axe, lang, accept, zone string) (*harness, *pageWalk) {
	h := newHarness(t, func(o *Options) {
		clinic(o)
		o.Listen, o.TLS = "127.0.0.1:0", tlsConfig(t)
		o.RequirePassword, o.RequireTOTP = true, true
		o.Branding.Logo = []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32"><circle cx="16" cy="16" r="14" fill="#fff"/></svg>`)
		o.Branding.LogoType = "image/svg+xml"
	})
	if err := h.srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.srv.Close(context.Background()) })
	w := &pageWalk{t: t, ctx: ctx, b: chromium(t, ctx), axe: axe, shots: artifacts(t), lang: lang}
	w.must(w.b.Call(ctx, "Network.enable", nil, nil))
	w.must(w.b.Call(ctx, "Network.setExtraHTTPHeaders", map[string]any{"headers": map[string]string{"Accept-Language": accept}}, nil))
	w.must(w.b.Call(ctx, "Emulation.setTimezoneOverride", map[string]any{"timezoneId": zone}, nil))
	return h, w
}

// switchLanguage clicks the other language on the page; the choice then
// outlasts the browser's.
func (w *pageWalk) switchLanguage(base string) {
	t, ctx, lang := w.t, w.ctx, w.lang
	other := map[string]string{"en": "es", "es": "en"}[lang]
	w.eval(`document.querySelector('#lang-` + other + `').click()`)
	w.must(w.b.WaitFor(ctx, fmt.Sprintf("location.pathname === '/' && document.documentElement.lang === %q", other)))
	w.must(w.b.Navigate(ctx, base+"/pickup"))
	var h1 string
	w.must(w.b.Eval(ctx, `document.documentElement.lang + ' ' + document.querySelector('h1').textContent`, &h1))
	if want := other + " " + i18n.Get(other).T("info.nosession.title"); h1 != want {
		t.Errorf("after switching: %q, want %q", h1, want)
	}
}
