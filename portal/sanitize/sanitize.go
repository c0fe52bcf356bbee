// Package sanitize turns a message's HTML into markup that is safe to show
// inside the portal's page: an allow-list of plain formatting elements, no
// attributes except checked link targets, no scripts, styles, forms, frames
// or remote content. Images are replaced by a note; links are kept inert
// enough to read (the target is shown next to the text, and only http,
// https and mailto targets stay clickable).
package sanitize

import (
	"html"
	"io"
	"net/url"
	"strings"

	nethtml "golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Limits bound the work done on one document.
const (
	maxDepth = 64
	maxBytes = 4 << 20
)

// allowed are the elements kept (without attributes, except <a href>).
var allowed = map[atom.Atom]bool{
	atom.P: true, atom.Br: true, atom.B: true, atom.I: true, atom.U: true, atom.Strong: true,
	atom.Em: true, atom.Ul: true, atom.Ol: true, atom.Li: true, atom.Blockquote: true,
	atom.Pre: true, atom.Code: true, atom.Hr: true, atom.H1: true, atom.H2: true, atom.H3: true,
	atom.H4: true, atom.H5: true, atom.H6: true, atom.Table: true, atom.Thead: true,
	atom.Tbody: true, atom.Tr: true, atom.Td: true, atom.Th: true, atom.Span: true,
	atom.Div: true, atom.A: true, atom.Small: true, atom.Sub: true, atom.Sup: true,
}

// dropped are elements removed together with everything inside them.
var dropped = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Iframe: true, atom.Object: true, atom.Embed: true,
	atom.Frame: true, atom.Frameset: true, atom.Noscript: true, atom.Template: true,
	atom.Svg: true, atom.Math: true, atom.Form: true, atom.Input: true, atom.Button: true,
	atom.Select: true, atom.Textarea: true, atom.Link: true, atom.Meta: true, atom.Base: true,
	atom.Head: true, atom.Title: true, atom.Audio: true, atom.Video: true, atom.Canvas: true,
}

// HTML returns the sanitised form of src. The result is safe to insert
// into a page as markup.
func HTML(src string) string {
	if len(src) > maxBytes {
		src = src[:maxBytes]
	}
	doc, err := nethtml.Parse(strings.NewReader(src))
	if err != nil {
		return "<pre>" + html.EscapeString(src) + "</pre>"
	}
	var b strings.Builder
	walk(&b, doc, 0)
	return b.String()
}

func walk(w *strings.Builder, n *nethtml.Node, depth int) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		node(w, c, depth)
	}
}

func node(w *strings.Builder, n *nethtml.Node, depth int) {
	switch n.Type {
	case nethtml.TextNode:
		w.WriteString(html.EscapeString(n.Data))
		return
	case nethtml.ElementNode:
	default:
		walk(w, n, depth) // document, doctype, comments: children only
		return
	}
	switch {
	case dropped[n.DataAtom] || depth > maxDepth:
		return
	case n.DataAtom == atom.Img:
		w.WriteString(`<span class="removed">[image not shown]</span> `)
	case n.DataAtom == atom.A:
		link(w, n, depth)
	case allowed[n.DataAtom]:
		element(w, n, depth)
	default:
		walk(w, n, depth+1) // unknown wrapper (html, body, font, center …): keep its content
	}
}

func element(w *strings.Builder, n *nethtml.Node, depth int) {
	io.WriteString(w, "<"+n.Data+">")
	if n.DataAtom == atom.Br || n.DataAtom == atom.Hr {
		return
	}
	walk(w, n, depth+1)
	io.WriteString(w, "</"+n.Data+">")
}

// link keeps the text; only http(s) and mailto targets stay links, and
// the target is printed after the text so the reader sees where it goes.
func link(w *strings.Builder, n *nethtml.Node, depth int) {
	href := attr(n, "href")
	if !safeURL(href) {
		walk(w, n, depth+1)
		return
	}
	e := html.EscapeString(href)
	w.WriteString(`<a href="` + e + `" rel="noopener noreferrer nofollow" target="_blank">`)
	walk(w, n, depth+1)
	w.WriteString(`</a> <span class="href">(` + e + `)</span>`)
}

func safeURL(s string) bool {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		return u.Host != ""
	case "mailto":
		return true
	}
	return false
}

func attr(n *nethtml.Node, key string) string {
	for _, a := range n.Attr {
		if a.Namespace == "" && strings.EqualFold(a.Key, key) {
			return a.Val
		}
	}
	return ""
}
