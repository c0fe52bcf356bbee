package portal

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"regexp"
)

//go:embed templates/*.html static/*.css
var assets embed.FS

// pages are the parsed templates, one per page kind.
type pages struct {
	t        map[string]*template.Template
	style    []byte
	brandCSS []byte
	brand    Branding
}

var colorRE = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

func loadPages(b Branding) (*pages, error) {
	p := &pages{t: map[string]*template.Template{}, brand: b}
	for _, name := range []string{"start", "code", "message", "info", "password", "totp"} {
		t, err := template.ParseFS(assets, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("portal: templates: %w", err)
		}
		p.t[name] = t
	}
	style, err := assets.ReadFile("static/style.css")
	if err != nil {
		return nil, fmt.Errorf("portal: %w", err)
	}
	p.style = style
	if colorRE.MatchString(b.Color) { // checked: it is written into CSS
		p.brandCSS = []byte(":root { --brand: " + b.Color + "; }\n")
	}
	return p, nil
}

// view is what every page template gets.
type view struct {
	Brand       Branding
	HasLogo     bool
	Title       string
	Error       string
	Notice      string
	CSRF        string
	SignedIn    bool
	CodeMinutes int
	Text        string // info page
	Back        string // info page link
	Message     *messageView
	Factor      factorView // password and TOTP pages
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

// render writes a page with status code.
func (p *pages) render(w http.ResponseWriter, status int, name string, v view) {
	v.Brand, v.HasLogo = p.brand, len(p.brand.Logo) > 0
	var buf bytes.Buffer
	if err := p.t[name].ExecuteTemplate(&buf, "layout", v); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// info renders a page with a title and a sentence.
func (p *pages) info(w http.ResponseWriter, status int, title, text string, s *session) {
	v := view{Title: title, Text: text}
	if s != nil && s.authed {
		v.SignedIn, v.CSRF, v.Back = true, s.csrf, "/message"
	}
	p.render(w, status, "info", v)
}

func (p *pages) static(w http.ResponseWriter, r *http.Request) {
	switch r.PathValue("name") {
	case "style.css":
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Write(p.style)
	case "brand.css":
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Write(p.brandCSS)
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
