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
	MaxOutput     int64 // bytes of decompressed data for the whole extraction (zip, gzip, pdf)
	MaxZipEntries int   // entries in one archive
	MaxDepth      int   // archives inside archives
	MaxXMLDepth   int   // element nesting in XML
}

// Doc is one piece of content to extract.
type Doc struct {
	MediaType string // lower-case media type, e.g. "text/html"; may be empty
	Filename  string // attachment file name, if any
	Charset   string // declared charset not yet decoded (of a non-text/* part), if any
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
	// Media names the image, audio or video format of the document itself ("png",
	// "jpeg", "isobmff", ... or "unknown" for a declared media type whose bytes match
	// no known format): it holds no text, and the caller decides whether it is
	// decoration (see Decoration). Media inside an archive or a PDF is reported as
	// ReasonMedia instead.
	Media string
}

// Unreadable reason codes.
const (
	ReasonEncrypted   = "encrypted"
	ReasonLimit       = "limit"
	ReasonCorrupt     = "corrupt"
	ReasonNoText      = "no_text_layer"
	ReasonUnsupported = "unsupported_format"
	ReasonCharset     = "charset"
	ReasonMedia       = "media"
	ReasonMismatch    = "type_mismatch" // declared as media, but the bytes are something else
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

// media records image, audio or video content: the document's own format, or an
// unreadable member of an archive.
func (x *extractor) media(format, name string) {
	if name == "" {
		x.res.Media = format
		return
	}
	x.unreadable(ReasonMedia)
}

// doc dispatches on the kind of content, which its bytes decide before its declared
// type and name do.
func (x *extractor) doc(d Doc, name string, depth int) {
	if x.ctx.Err() != nil {
		x.unreadable(ReasonLimit)
		return
	}
	if len(d.Data) == 0 {
		return
	}
	if d.Charset != "" && sniff(d.Data).class == 0 {
		data, err := DecodeCharset(d.Charset, d.Data, max(x.budget, 0))
		switch {
		case errors.Is(err, ErrTooLarge):
			x.unreadable(ReasonLimit)
		case err != nil:
			x.unreadable(ReasonCharset) // still read as it is, for what it shows
			data = d.Data
		}
		d.Data = data
	}
	kind := Kind(d.MediaType, d.Filename, d.Data)
	if kind == "text16" {
		d.Data, _ = decodeUnicode(d.Data)
		kind = Kind(d.MediaType, d.Filename, d.Data)
	}
	if isMediaType(d.MediaType) && kind != "media" && kind != "xml" && kind != "" {
		x.unreadable(ReasonMismatch) // text or a document dressed as an image: read it, never clear it
	}
	if textKind(kind) && misdecoded(d.Data) {
		x.unreadable(ReasonCharset) // still read as Windows-1252, for what it shows
	}
	x.dispatch(kind, d, name, depth)
}

func (x *extractor) dispatch(kind string, d Doc, name string, depth int) {
	switch kind {
	case "html":
		x.plain(name, HTML(asUTF8(d.Data)))
	case "csv":
		text, err := CSV(asUTF8(d.Data), int(max(0, min(x.budget, 1<<30))))
		x.budget -= int64(len(text))
		x.text(name, text)
		if err != nil {
			x.unreadable(ReasonLimit)
		}
	case "hl7":
		x.text(name, HL7(asUTF8(d.Data)))
	case "json":
		text, sig, err := JSONRecord(d.Data, max(x.lim.MaxXMLDepth, 1), int(max(0, min(x.budget, 1<<30))))
		x.budget -= int64(len(text))
		x.text(name, text)
		x.signals(sig)
		if err != nil {
			x.unreadable(ReasonLimit)
		}
	case "ics":
		x.text(name, ICS(asUTF8(d.Data)))
	case "xml":
		x.xml(d.Data, name)
	case "pdf":
		x.pdf(d.Data, name, depth)
	case "zip":
		x.zip(d.Data, name, depth)
	case "gzip", "xz", "bzip2":
		x.compressed(kind, d, name, depth)
	case "tar":
		x.tar(d.Data, name, depth)
	case "rtf":
		x.rtf(d.Data, name)
	case "media":
		x.media(mediaFormat(d.Data), name)
	case "text":
		x.plain(name, asUTF8(d.Data))
	case "vcard":
		x.text(name, asUTF8(d.Data))
	case "":
	default: // ole, tnef, 7z, rar, executables, unknown binary
		x.unreadable(ReasonUnsupported)
	}
}

// plain adds text that may hold delimited tables, with the tables read (see Tables).
func (x *extractor) plain(name string, text []byte) {
	text = x.pastedRecord(text)
	if t := Tables(text, int(max(0, min(x.budget, 1<<30)))); t != nil {
		x.budget -= int64(len(t) - len(text))
		text = t
	}
	x.text(name, text)
}

// pastedRecord reads a FHIR resource pasted into a text part as JSON ("GET /Observation
// returned this:" and the resource) as the json kind is read: its patient and clinical
// entries counted, its values written as labelled text. The text before the resource
// is kept as it is, and so is anything after it.
func (x *extractor) pastedRecord(text []byte) []byte {
	k := bytes.Index(text, []byte(`"resourceType"`))
	if k < 0 {
		return text
	}
	start := bytes.LastIndexByte(text[:k], '{')
	if start < 0 {
		return text
	}
	rec, sig, err := JSONRecord(text[start:], max(x.lim.MaxXMLDepth, 1), int(max(0, min(x.budget, 1<<30))))
	if err != nil {
		x.unreadable(ReasonLimit)
	}
	x.signals(sig)
	out := make([]byte, 0, start+len(rec))
	out = append(append(out, text[:start]...), rec...)
	x.budget -= int64(max(len(out)-len(text), 0))
	return out
}

// signals adds the structural findings of one document to the result.
func (x *extractor) signals(sig Signals) {
	x.res.Signals.RecordPatient += sig.RecordPatient
	x.res.Signals.RecordClinical += sig.RecordClinical
}

func (x *extractor) xml(data []byte, name string) {
	text, sig, err := XML(data, max(x.lim.MaxXMLDepth, 1))
	x.text(name, text)
	x.signals(sig)
	if err != nil {
		x.unreadable(ReasonLimit)
	}
}

// Kind names the extractor for a media type, file name and content: html, csv, hl7,
// json, ics, xml, pdf, zip, gzip, xz, bzip2, tar, rtf, text; "media" for images, audio
// and video; "text16" for UTF-16 or UTF-32 text still to decode; "" for empty content;
// and, for what no extractor reads, the format's name (ole, tnef, 7z, rar, exe, ...)
// or "binary". The bytes decide first: a signature wins over the declared type and
// the name.
func Kind(mediaType, filename string, data []byte) string {
	if len(data) == 0 {
		return ""
	}
	if sn := sniff(data); sn.class != 0 {
		if sn.class == classMedia {
			return "media"
		}
		return sn.kind
	}
	if !bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		if _, ok := decodeUnicode(data); ok {
			return "text16"
		}
	}
	k := kindByType(mediaType)
	if k == "" && filename != "" {
		ext := strings.ToLower(path.Ext(filename))
		if k = kindByType(mime.TypeByExtension(ext)); k == "" || k == "text" {
			if e := kindByExt(ext); e != "" {
				k = e
			}
		}
	}
	switch k {
	case "", "text", "tnef", "ole", "7z", "rar":
		// no signature: what the name promised is not there; text is read as text
	default:
		return k
	}
	switch {
	case textLike(data):
		return "text"
	case k != "" && k != "text":
		return k // a name or type of a format without its signature: that extractor decides
	case isMediaType(mediaType):
		return "media"
	}
	return "binary"
}

// textKind reports whether kind is read as characters without a format of its own
// around them.
func textKind(kind string) bool {
	switch kind {
	case "text", "csv", "html", "hl7", "ics", "vcard":
		return true
	}
	return false
}

func kindByType(mt string) string {
	switch {
	case mt == "text/html" || mt == "application/xhtml+xml":
		return "html"
	case mt == "text/csv" || mt == "text/tab-separated-values" || mt == "application/csv":
		return "csv"
	case strings.Contains(mt, "hl7"):
		return "hl7"
	case mt == "application/json" || strings.HasSuffix(mt, "+json") || strings.HasSuffix(mt, "ndjson"):
		return "json"
	case mt == "text/calendar":
		return "ics"
	case mt == "text/xml" || mt == "application/xml" || strings.HasSuffix(mt, "+xml"):
		return "xml"
	case mt == "application/pdf":
		return "pdf"
	case mt == "application/zip" || mt == "application/x-zip-compressed" ||
		strings.Contains(mt, "officedocument") || strings.Contains(mt, "opendocument"):
		return "zip"
	case mt == "application/gzip" || mt == "application/x-gzip":
		return "gzip"
	case mt == "application/x-xz":
		return "xz"
	case mt == "application/x-bzip2":
		return "bzip2"
	case mt == "application/x-tar":
		return "tar"
	case mt == "application/rtf" || mt == "text/rtf" || mt == "text/richtext":
		return "rtf"
	case mt == "application/ms-tnef" || mt == "application/vnd.ms-tnef":
		return "tnef"
	case mt == "application/msword" || mt == "application/vnd.ms-excel" || mt == "application/vnd.ms-powerpoint":
		return "ole"
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
	case ".json", ".ndjson":
		return "json"
	case ".ics":
		return "ics"
	case ".xml", ".cda", ".ccd", ".ccda":
		return "xml"
	case ".pdf":
		return "pdf"
	case ".zip", ".docx", ".xlsx", ".pptx", ".docm", ".xlsm", ".pptm", ".odt", ".ods", ".odp", ".odg":
		return "zip"
	case ".gz", ".tgz":
		return "gzip"
	case ".xz", ".txz":
		return "xz"
	case ".bz2", ".tbz", ".tbz2":
		return "bzip2"
	case ".tar":
		return "tar"
	case ".rtf":
		return "rtf"
	case ".dat", ".tnef":
		return "tnef"
	case ".doc", ".xls", ".ppt", ".msg":
		return "ole"
	case ".7z":
		return "7z"
	case ".rar":
		return "rar"
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
