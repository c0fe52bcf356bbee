package portal

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"regexp"
	"strings"

	"github.com/sealgate/sealgate/internal/i18n"
)

//go:embed templates/*.html static/*.css static/*.js
var assets embed.FS

// pages are the parsed templates, one per page kind.
type pages struct {
	t        map[string]*template.Template
	style    []byte
	script   []byte
	brandCSS []byte
	brand    Branding
	langs    []langLink // every language, for the switcher
	lang     func(*http.Request) *i18n.Lang
}

// langLink is one entry of the language switcher.
type langLink struct{ Code, Name string }

var colorRE = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

func loadPages(b Branding, lang func(*http.Request) *i18n.Lang) (*pages, error) {
	p := &pages{t: map[string]*template.Template{}, brand: b, lang: lang}
	for _, name := range []string{"start", "code", "message", "info", "password", "totp", "unsubscribe"} {
		t, err := template.ParseFS(assets, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("portal: templates: %w", err)
		}
		p.t[name] = t
	}
	var err error
	if p.style, err = assets.ReadFile("static/style.css"); err != nil {
		return nil, fmt.Errorf("portal: %w", err)
	}
	if p.script, err = assets.ReadFile("static/tz.js"); err != nil {
		return nil, fmt.Errorf("portal: %w", err)
	}
	if colorRE.MatchString(b.Color) { // checked: it is written into CSS
		p.brandCSS = []byte(":root { --brand: " + b.Color + "; }\n")
	}
	for _, c := range i18n.Codes() {
		p.langs = append(p.langs, langLink{Code: c, Name: i18n.Get(c).Name()})
	}
	return p, nil
}

// view is what every page template gets.
type view struct {
	Brand    Branding
	HasLogo  bool
	Tel      string // the support phone as a tel: URI body
	L        *i18n.Lang
	Langs    []langLink
	Here     string // the page a language switch reloads
	Title    string
	Error    string
	Notice   string
	CSRF     string
	SignedIn bool
	// Script loads the one script the site has (tz.js, which fills the
	// forms' time zone fields); only the start and code pages set it.
	Script        bool
	CodeMinutes   int
	NoCodeMinutes int    // code page: when to read the "no code?" help
	Text          string // info page
	Back          string // info page link
	Message       *messageView
	Factor        factorView // password and TOTP pages
	Unsubscribe   *unsubscribeView
}

// factorView is what the password and TOTP pages show.
type factorView struct {
	Enrol      bool   // set a password / add an authenticator, first visit
	MinLength  int    // password
	Secret     string // TOTP secret in groups of four, when enrolling
	URI        string // otpauth:// URI, when enrolling
	Issuer     string
	AccountFor string
}

// render writes a page with status code in the visitor's language.
func (p *pages) render(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	v.Brand, v.HasLogo, v.Tel = p.brand, len(p.brand.Logo) > 0, telURI(p.brand.SupportPhone)
	v.L, v.Langs, v.Here = p.lang(r), p.langs, here(r)
	var buf bytes.Buffer
	if err := p.t[name].ExecuteTemplate(&buf, "layout", v); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	if v.Script {
		h.Set("Content-Security-Policy", csp+"; script-src 'self'")
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Language", v.L.Code())
	h.Add("Vary", "Accept-Language, Cookie")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// info renders a page with the title and sentence of catalogue entry key
// (key.title, key.text with args).
func (p *pages) info(w http.ResponseWriter, r *http.Request, status int, key string, s *session, args ...any) {
	l := p.lang(r)
	v := view{Title: l.T(key + ".title"), Text: l.T(key+".text", args...)}
	if s != nil && s.authed {
		v.SignedIn, v.CSRF, v.Back = true, s.csrf, "/message"
	}
	p.render(w, r, status, "info", v)
}

// telURI is a phone number as written for people ("+1 (555) 010-0100")
// reduced to what a tel: link dials ("+15550100100"), or "".
func telURI(phone string) string {
	var b strings.Builder
	digits := 0
	for i, c := range strings.TrimSpace(phone) {
		switch {
		case c >= '0' && c <= '9':
			b.WriteRune(c)
			digits++
		case c == '+' && i == 0:
			b.WriteRune(c)
		}
	}
	if digits < 3 {
		return ""
	}
	return b.String()
}

func (p *pages) static(w http.ResponseWriter, r *http.Request) {
	switch r.PathValue("name") {
	case "style.css":
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Write(p.style)
	case "brand.css":
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Write(p.brandCSS)
	case "tz.js":
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Write(p.script)
	case "logo":
		if len(p.brand.Logo) == 0 || (p.brand.LogoType != "image/png" && p.brand.LogoType != "image/svg+xml") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", p.brand.LogoType)
		w.Write(p.brand.Logo)
	default:
		http.NotFound(w, r)
	}
}
