package extract

import (
	"bytes"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// htmlMaxNesting bounds re-reading markup found inside raw-text elements (noscript) and
// Outlook's conditional comments.
const htmlMaxNesting = 8

// HTML returns the text of an HTML document as a mail client shows it, tokenised as
// browsers do (golang.org/x/net/html): text and character references decoded, words
// split by inline tags ("Oba<span></span>diah") joined again, block tags turned into
// line breaks or tabs, and the alt, title, value, placeholder and aria-label attributes
// kept. Script and style are dropped. A mail client runs no scripts, so noscript
// content is shown and read; so is the content of conditional comments
// (<!--[if mso]>...<![endif]-->), which Outlook shows. The title is read too. Broken
// markup (no </head>, an abrupt "<!-->") is read as browsers read it.
func HTML(src []byte) []byte {
	out := make([]byte, 0, len(src)) // mostly text in mail: room for all of it, grown once at most
	return htmlText(src, out, 0)
}

func htmlText(src, out []byte, depth int) []byte {
	z := html.NewTokenizer(bytes.NewReader(src))
	skip := atom.Atom(0) // script or style being skipped
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return out
		case html.TextToken:
			out = htmlChars(z, out, skip, depth)
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			a := atom.Lookup(name)
			if hasAttr {
				out = htmlAttrs(z, out)
			}
			if (a == atom.Script || a == atom.Style) && tt == html.StartTagToken {
				skip = a
			}
			out = htmlSeparator(a, out)
		case html.EndTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if a == skip {
				skip = 0
			}
			out = htmlSeparator(a, out)
		case html.CommentToken:
			out = htmlComment(z.Text(), out, depth)
		}
	}
}

// htmlChars appends a text token: raw text of noscript, noembed, noframes and iframe
// is markup to read again; script and style are dropped.
func htmlChars(z *html.Tokenizer, out []byte, skip atom.Atom, depth int) []byte {
	if skip != 0 {
		return out
	}
	raw := z.Raw()
	t := z.Text()
	if bytes.IndexByte(raw, '<') >= 0 && !bytes.Contains(raw, []byte("&lt;")) && depth < htmlMaxNesting &&
		bytes.Equal(raw, t) {
		return htmlText(t, out, depth+1) // raw text: markup inside noscript and the like
	}
	return append(out, t...)
}

// htmlComment reads the content of an Outlook conditional comment; other comments
// are not shown and are dropped.
func htmlComment(c, out []byte, depth int) []byte {
	s := bytes.TrimSpace(c)
	if depth >= htmlMaxNesting || !bytes.HasPrefix(s, []byte("[if")) {
		return out
	}
	if k := bytes.IndexByte(s, ']'); k >= 0 {
		s = s[k+1:]
	}
	s = bytes.TrimPrefix(s, []byte(">"))
	if k := bytes.LastIndex(s, []byte("<![endif]")); k >= 0 {
		s = s[:k]
	}
	return htmlText(s, out, depth+1)
}

// htmlShownAttrs are the attributes whose values a mail client shows (alt text when
// images are blocked, tooltips, form values).
var htmlShownAttrs = map[string]bool{"alt": true, "title": true, "value": true, "placeholder": true, "aria-label": true}

func htmlAttrs(z *html.Tokenizer, out []byte) []byte {
	for {
		k, v, more := z.TagAttr()
		if htmlShownAttrs[strings.ToLower(string(k))] && len(bytes.TrimSpace(v)) > 0 {
			out = append(out, ' ')
			out = append(out, v...)
			out = append(out, ' ')
		}
		if !more {
			return out
		}
	}
}

// htmlSeparator appends the separator a tag stands for.
func htmlSeparator(a atom.Atom, out []byte) []byte {
	switch a {
	case atom.Td, atom.Th:
		return append(out, '\t')
	case atom.Br, atom.P, atom.Div, atom.Tr, atom.Li, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5,
		atom.H6, atom.Table, atom.Blockquote, atom.Hr, atom.Ul, atom.Ol, atom.Dt, atom.Dd,
		atom.Section, atom.Article, atom.Header, atom.Footer, atom.Pre, atom.Body, atom.Html,
		atom.Caption, atom.Tbody, atom.Thead, atom.Address, atom.Title, atom.Head, atom.Noscript,
		atom.Option, atom.Textarea, atom.Main, atom.Nav, atom.Aside, atom.Figcaption:
		return append(out, '\n')
	}
	return out
}
