// Package extract turns the decoded body of a MIME part into text that the detectors can
// read: HTML, CSV, HL7 v2, XML (C-CDA), JSON, PDF text layers, Office documents and zip
// archives, iCalendar, and plain text. Every reader has limits; content that cannot be
// read within them is reported as unreadable, with a reason code and never its content.
package extract

import (
	"bytes"
	"context"
	"errors"
	"mime"
	"path"
	"strings"
	"unicode/utf8"
)

// Limits bound the work of one extraction.
type Limits struct {
	MaxOutput     int64 // bytes of decompressed data for the whole extraction (zip, pdf)
	MaxZipEntries int   // entries in one archive
	MaxDepth      int   // archives inside archives
	MaxXMLDepth   int   // element nesting in XML
}

// Doc is one piece of content to extract.
type Doc struct {
	MediaType string // lower-case media type, e.g. "text/html"; may be empty
	Filename  string // attachment file name, if any
	Data      []byte // decoded body
}

// Text is one extracted text; Name is empty for the document itself and the entry path
// for an archive member.
type Text struct {
	Name string
	Body []byte
}

// Result is what an extraction found.
type Result struct {
	Texts      []Text
	Signals    Signals
	Unreadable []string // reason codes of content that could not be read
}

// Unreadable reason codes.
const (
	ReasonEncrypted   = "encrypted"
	ReasonLimit       = "limit"
	ReasonCorrupt     = "corrupt"
	ReasonNoText      = "no_text_layer"
	ReasonUnsupported = "unsupported_format"
)

// Extract reads doc and returns its texts. It never fails: problems become reason
// codes in Result.Unreadable.
func Extract(ctx context.Context, doc Doc, lim Limits) Result {
	x := &extractor{ctx: ctx, lim: lim, budget: lim.MaxOutput}
	x.doc(doc, "", 0)
	return x.res
}

type extractor struct {
	ctx    context.Context
	lim    Limits
	budget int64
	res    Result
}

func (x *extractor) unreadable(reason string) {
	x.res.Unreadable = append(x.res.Unreadable, reason)
}

func (x *extractor) text(name string, body []byte) {
	if len(body) > 0 {
		x.res.Texts = append(x.res.Texts, Text{Name: name, Body: body})
	}
}

// doc dispatches on the kind of content.
func (x *extractor) doc(d Doc, name string, depth int) {
	if x.ctx.Err() != nil {
		x.unreadable(ReasonLimit)
		return
	}
	switch kind := Kind(d.MediaType, d.Filename, d.Data); kind {
	case "html":
		x.text(name, HTML(d.Data))
	case "csv":
		text, err := CSV(d.Data, int(max(0, min(x.budget, 1<<30))))
		x.budget -= int64(len(text))
		x.text(name, text)
		if err != nil {
			x.unreadable(ReasonLimit)
		}
	case "hl7":
		x.text(name, HL7(d.Data))
	case "json":
		text, err := JSON(d.Data, max(x.lim.MaxXMLDepth, 1), int(max(0, min(x.budget, 1<<30))))
		x.budget -= int64(len(text))
		x.text(name, text)
		if err != nil {
			x.unreadable(ReasonLimit)
		}
	case "ics":
		x.text(name, ICS(d.Data))
	case "xml":
		x.xml(d.Data, name)
	case "pdf":
		x.pdf(d.Data, name)
	case "zip":
		x.zip(d.Data, name, depth)
	case "ole":
		x.unreadable(ReasonUnsupported)
	case "text":
		x.text(name, d.Data)
	}
}

func (x *extractor) xml(data []byte, name string) {
	text, sig, err := XML(data, max(x.lim.MaxXMLDepth, 1))
	x.text(name, text)
	x.res.Signals.CDAPatient += sig.CDAPatient
	x.res.Signals.CDAClinical += sig.CDAClinical
	if err != nil {
		x.unreadable(ReasonLimit)
	}
}

func (x *extractor) pdf(data []byte, name string) {
	text, err := PDF(data, x.budget, x.budget)
	x.budget -= int64(len(text))
	x.text(name, text)
	switch {
	case errors.Is(err, ErrPDFEncrypted):
		x.unreadable(ReasonEncrypted)
	case errors.Is(err, ErrPDFNoText):
		x.unreadable(ReasonNoText)
	case errors.Is(err, ErrTooLarge):
		x.unreadable(ReasonLimit)
	}
}

func (x *extractor) zip(data []byte, name string, depth int) {
	if depth >= x.lim.MaxDepth {
		x.unreadable(ReasonLimit)
		return
	}
	names, err := zipNames(data, x.lim.MaxZipEntries)
	if err != nil {
		x.zipError(err)
		return
	}
	kind := officeKind(names)
	keep := func(string) bool { return true }
	if kind != "" {
		keep = officeText
	}
	entries, err := readZip(data, keep, &x.budget, x.lim.MaxZipEntries)
	for _, e := range entries {
		sub := path.Join(name, e.name)
		if kind != "" {
			x.text(sub, OfficeXML(e.data))
			continue
		}
		x.doc(Doc{Filename: e.name, Data: e.data}, sub, depth+1)
	}
	if err != nil {
		x.zipError(err)
	}
}

func (x *extractor) zipError(err error) {
	switch {
	case errors.Is(err, ErrZipEncrypted):
		x.unreadable(ReasonEncrypted)
	case errors.Is(err, ErrZipCorrupt):
		x.unreadable(ReasonCorrupt)
	default:
		x.unreadable(ReasonLimit)
	}
}

// Kind names the extractor for a media type, file name and content: html, csv, hl7,
// json, ics, xml, pdf, zip, ole, text, or "" for content that holds no text (images,
// audio, unknown binary).
func Kind(mediaType, filename string, data []byte) string {
	if k := kindByMagic(data); k != "" {
		return k
	}
	if k := kindByType(mediaType); k != "" {
		return k
	}
	if filename != "" {
		ext := strings.ToLower(path.Ext(filename))
		if k := kindByType(mime.TypeByExtension(ext)); k != "" && k != "text" {
			return k
		}
		if k := kindByExt(ext); k != "" {
			return k
		}
	}
	if strings.HasPrefix(mediaType, "image/") || strings.HasPrefix(mediaType, "audio/") ||
		strings.HasPrefix(mediaType, "video/") || strings.HasPrefix(mediaType, "font/") {
		return ""
	}
	if looksLikeText(data) {
		return "text"
	}
	return ""
}

func kindByMagic(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte("%PDF-")):
		return "pdf"
	case bytes.HasPrefix(data, []byte("PK\x03\x04")):
		return "zip"
	case bytes.HasPrefix(data, []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1")):
		return "ole"
	case bytes.HasPrefix(data, []byte("MSH|")):
		return "hl7"
	}
	return ""
}

func kindByType(mt string) string {
	switch {
	case mt == "text/html" || mt == "application/xhtml+xml":
		return "html"
	case mt == "text/csv" || mt == "text/tab-separated-values" || mt == "application/csv":
		return "csv"
	case strings.Contains(mt, "hl7"):
		return "hl7"
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		return "json"
	case mt == "text/calendar":
		return "ics"
	case mt == "text/xml" || mt == "application/xml" || strings.HasSuffix(mt, "+xml"):
		return "xml"
	case mt == "application/pdf":
		return "pdf"
	case mt == "application/zip" || strings.Contains(mt, "officedocument") || strings.Contains(mt, "opendocument"):
		return "zip"
	case strings.HasPrefix(mt, "text/"):
		return "text"
	}
	return ""
}

func kindByExt(ext string) string {
	switch ext {
	case ".htm", ".html":
		return "html"
	case ".csv", ".tsv":
		return "csv"
	case ".hl7":
		return "hl7"
	case ".json":
		return "json"
	case ".ics":
		return "ics"
	case ".xml", ".cda", ".ccd", ".ccda":
		return "xml"
	case ".pdf":
		return "pdf"
	case ".zip", ".docx", ".xlsx", ".pptx", ".odt", ".ods":
		return "zip"
	case ".txt", ".text", ".log", ".md", ".eml":
		return "text"
	}
	return ""
}

// looksLikeText reports whether data is valid UTF-8 with few control characters.
func looksLikeText(data []byte) bool {
	sample := data[:min(len(data), 4096)]
	if len(sample) == 0 {
		return false
	}
	for k := 0; k < 3 && len(sample) < len(data) && !utf8.Valid(sample); k++ {
		sample = sample[:len(sample)-1] // a rune cut at the sample's end
	}
	if !utf8.Valid(sample) {
		return false
	}
	ctrl := 0
	for _, c := range sample {
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\f' {
			ctrl++
		}
	}
	return ctrl*50 < len(sample)
}
