package extract

import (
	"bytes"
	"context"
	"errors"
	"path"
	"slices"
	"strconv"
	"strings"
)

// PDF errors. Each means the document cannot be cleared.
var (
	ErrPDFEncrypted = errors.New("extract: encrypted pdf")
	ErrPDFNoText    = errors.New("extract: pdf without a readable text layer")
	ErrTooLarge     = errors.New("extract: decompressed size limit")
)

// Bounds on the structure of one PDF, besides the byte budget.
const (
	pdfMaxForms    = 10000 // form XObjects and appearance streams run, in all
	pdfMaxFormNest = 12    // forms painting forms
	pdfMaxParents  = 64    // page tree levels
)

// pdfReader reads one PDF: its objects, then every page.
type pdfReader struct {
	ctx      context.Context
	objs     map[int]*pdfObject
	budget   *int64
	decoded  map[int][]byte // decoded streams by object number
	fonts    map[int]*pdfFont
	forms    int
	text     []byte   // text of the pages
	extra    []byte   // strings outside pages: form fields, annotations, document info
	reasons  []string // unreadable reason codes
	embedded []Doc    // embedded files (ISO 32000-1 §7.11.4)
}

// PDF returns the text of a PDF, as readPDF reads it, with the first problem found as
// an error (ErrPDFEncrypted, ErrPDFNoText, ErrTooLarge, or another for an undecodable
// stream). maxStream is kept for callers; all decoding is charged to maxTotal.
func PDF(src []byte, maxStream, maxTotal int64) ([]byte, error) {
	budget := min(maxStream, maxTotal)
	r := readPDF(context.Background(), src, &budget)
	text := append(r.text, r.extra...)
	for _, reason := range r.reasons {
		switch reason {
		case ReasonEncrypted:
			return text, ErrPDFEncrypted
		case ReasonNoText:
			return text, ErrPDFNoText
		case ReasonLimit:
			return text, ErrTooLarge
		default:
			return text, errors.New("extract: pdf: " + reason)
		}
	}
	return text, nil
}

// readPDF reads every page of a PDF: the text its content streams show (through
// forms, annotations' appearances and fonts' ToUnicode maps), with every stream filter
// decoded, object streams included. A page that paints images and shows no readable
// text is a scan (ReasonNoText); a stream that cannot be decoded makes the document
// unreadable, and so does encryption. Form field values, annotation texts and document
// information are read too, and embedded files are returned for extraction.
func readPDF(ctx context.Context, src []byte, budget *int64) *pdfReader {
	r := &pdfReader{ctx: ctx, budget: budget, decoded: map[int][]byte{}, fonts: map[int]*pdfFont{}}
	if bytes.Contains(src, []byte("/Encrypt")) {
		r.reasons = append(r.reasons, ReasonEncrypted)
		return r
	}
	r.objs = pdfObjects(src)
	r.expandObjectStreams()
	nums := slices.Sorted(mapKeys(r.objs))
	readable, pages := 0, 0
	for _, n := range nums {
		if ctx.Err() != nil {
			r.fail(ErrTooLarge)
			break
		}
		d, ok := r.objs[n].val.(pdfDict)
		if !ok {
			continue
		}
		switch t, _ := d["Type"].(pdfName); t {
		case "Page":
			pages++
			if r.page(d) {
				readable++
			}
		case "EmbeddedFile":
			if data, err := r.streamOf(pdfRef{num: n}); err == nil {
				mt, _ := d["Subtype"].(pdfName) // a MIME type, "text/csv"
				r.embedded = append(r.embedded, Doc{MediaType: strings.ToLower(string(mt)), Data: data})
			} else {
				r.fail(err)
			}
		}
		r.strings(d)
	}
	if pages == 0 && r.orphanContent(nums) {
		readable++
	}
	if readable == 0 || !mostlyText(r.text) {
		r.reasons = append(r.reasons, ReasonNoText) // no text layer at all: a scan, or text drawn as outlines
	}
	return r
}

func mapKeys[V any](m map[int]V) func(func(int) bool) {
	return func(yield func(int) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// orphanContent reads, in a document without page objects (a broken page tree), every
// stream that is neither an image, a font, an embedded file nor an object stream as page
// content, and reports whether that yielded readable text.
func (r *pdfReader) orphanContent(nums []int) bool {
	content := pdfDict{"Contents": []any{}}
	for _, n := range nums {
		o := r.objs[n]
		d, _ := o.val.(pdfDict)
		if o.stream == nil || d["Type"] != nil || d["Subtype"] != nil || d["Length1"] != nil {
			continue
		}
		content["Contents"] = append(content["Contents"].([]any), pdfRef{num: n})
	}
	return r.page(content)
}

// fail records why some content could not be read.
func (r *pdfReader) fail(err error) {
	reason := ReasonCorrupt
	switch {
	case errors.Is(err, ErrPDFEncrypted):
		reason = ReasonEncrypted
	case errors.Is(err, ErrTooLarge):
		reason = ReasonLimit
	case errors.Is(err, errPDFFilter), errors.Is(err, errPDFImageFilter):
		reason = ReasonUnsupported
	}
	if !slices.Contains(r.reasons, reason) {
		r.reasons = append(r.reasons, reason)
	}
}

// resolve follows indirect references.
func (r *pdfReader) resolve(v any) any {
	for k := 0; k < 32; k++ {
		ref, ok := v.(pdfRef)
		if !ok {
			return v
		}
		o := r.objs[ref.num]
		if o == nil {
			return nil
		}
		v = o.val
	}
	return nil
}

func (r *pdfReader) dict(v any) pdfDict {
	d, _ := r.resolve(v).(pdfDict)
	return d
}

// streamOf decodes the stream of an indirect object, once.
func (r *pdfReader) streamOf(ref pdfRef) ([]byte, error) {
	if data, ok := r.decoded[ref.num]; ok {
		return data, nil
	}
	o := r.objs[ref.num]
	if o == nil || o.stream == nil {
		return nil, errPDFCorrupt
	}
	d, _ := o.val.(pdfDict)
	names, parms := pdfFilters(d, r.resolve)
	data, err := pdfDecode(o.stream, names, parms, max(*r.budget, 0))
	if err != nil {
		return nil, err
	}
	if len(names) > 0 {
		*r.budget -= int64(len(data))
	}
	if *r.budget < 0 {
		return nil, ErrTooLarge
	}
	r.decoded[ref.num] = data
	return data, nil
}

// expandObjectStreams adds the objects compressed in object streams (ISO 32000-1
// §7.5.7) that are not defined directly.
func (r *pdfReader) expandObjectStreams() {
	var streams []int
	for n, o := range r.objs {
		if d, ok := o.val.(pdfDict); ok && o.stream != nil && d["Type"] == pdfName("ObjStm") {
			streams = append(streams, n)
		}
	}
	slices.Sort(streams)
	for _, n := range streams {
		data, err := r.streamOf(pdfRef{num: n})
		if err != nil {
			r.fail(err) // the pages it holds cannot be read
			continue
		}
		d := r.objs[n].val.(pdfDict)
		count, _ := d["N"].(float64)
		first, _ := d["First"].(float64)
		l := &pdfLexer{b: data}
		for k := 0; k < int(min(count, 1<<20)); k++ {
			num, ok1 := l.value(0)
			off, ok2 := l.value(0)
			nf, okn := num.(float64)
			of, oko := off.(float64)
			if !ok1 || !ok2 || !okn || !oko {
				break
			}
			at := int(first) + int(of)
			if at < 0 || at >= len(data) || r.objs[int(nf)] != nil {
				continue
			}
			v, _ := (&pdfLexer{b: data, i: at}).value(0)
			r.objs[int(nf)] = &pdfObject{val: v}
		}
	}
}

// pageState is what one page shows.
type pageState struct {
	text     []byte
	images   int
	glyphs   int
	unmapped int
}

// page reads one page and reports whether it has a readable text layer; a page that
// paints images without one, or shows text that cannot be decoded, is unreadable.
func (r *pdfReader) page(d pdfDict) bool {
	res := r.inherited(d, "Resources")
	var content []byte
	switch c := r.resolve(d["Contents"]).(type) {
	case []any:
		for _, v := range c {
			content = append(content, r.contentStream(v)...)
			content = append(content, '\n')
		}
	case pdfDict:
		content = r.contentStream(d["Contents"])
	}
	st := &pageState{}
	r.run(content, res, 0, st)
	if annots, ok := r.resolve(d["Annots"]).([]any); ok {
		for _, a := range annots {
			r.appearance(r.dict(a), res, st)
		}
	}
	r.text = append(r.text, st.text...)
	r.text = append(r.text, '\n')
	hasText := len(bytes.TrimSpace(st.text)) > 0 && mostlyText(st.text)
	if st.unmapped*10 > st.glyphs || (len(bytes.TrimSpace(st.text)) > 0 && !mostlyText(st.text)) {
		r.noText() // glyph codes that no mapping turns into text
		return false
	}
	if st.images > 0 && !hasText {
		r.noText() // a scanned page
	}
	return hasText
}

func (r *pdfReader) noText() {
	if !slices.Contains(r.reasons, ReasonNoText) {
		r.reasons = append(r.reasons, ReasonNoText)
	}
}

// contentStream decodes one content stream; a stream that cannot be decoded is
// recorded, since the page's text would be lost.
func (r *pdfReader) contentStream(v any) []byte {
	ref, ok := v.(pdfRef)
	if !ok {
		return nil
	}
	data, err := r.streamOf(ref)
	if err != nil {
		r.fail(err)
	}
	return data
}

// inherited looks a page attribute up the page tree (ISO 32000-1 §7.7.3.4).
func (r *pdfReader) inherited(d pdfDict, key string) pdfDict {
	for k := 0; d != nil && k < pdfMaxParents; k++ {
		if v := r.dict(d[key]); v != nil {
			return v
		}
		d = r.dict(d["Parent"])
	}
	return nil
}

// run reads a content stream with its resources, following the XObjects it paints.
func (r *pdfReader) run(content []byte, res pdfDict, depth int, st *pageState) {
	fonts := r.dict(res["Font"])
	c := scanContent(content, func(font string, s []byte) ([]byte, int, int) {
		return r.font(fonts[font]).decode(s)
	})
	st.text = append(st.text, c.text...)
	st.images += c.inline
	st.glyphs += c.glyphs
	st.unmapped += c.unmapped
	xobjects := r.dict(res["XObject"])
	for _, name := range c.xobjects {
		ref, ok := xobjects[name].(pdfRef)
		if !ok {
			continue
		}
		xd := r.dict(ref)
		switch sub, _ := xd["Subtype"].(pdfName); sub {
		case "Image":
			st.images++
		case "Form":
			r.form(ref, xd, res, depth, st)
		}
	}
}

// form runs a form XObject or an appearance stream, within the nesting and count
// bounds.
func (r *pdfReader) form(ref pdfRef, d, res pdfDict, depth int, st *pageState) {
	if depth >= pdfMaxFormNest || r.forms >= pdfMaxForms {
		r.fail(ErrTooLarge)
		return
	}
	r.forms++
	data, err := r.streamOf(ref)
	if err != nil {
		r.fail(err)
		return
	}
	if own := r.dict(d["Resources"]); own != nil {
		res = own
	}
	r.run(data, res, depth+1, st)
	st.text = append(st.text, '\n')
}

// appearance runs the normal appearance of an annotation (a filled form field, a
// stamp, a free-text comment).
func (r *pdfReader) appearance(a, res pdfDict, st *pageState) {
	ap := r.dict(a["AP"])
	switch n := ap["N"].(type) {
	case pdfRef:
		if d := r.dict(n); d != nil && r.objs[n.num] != nil && r.objs[n.num].stream != nil {
			r.form(n, d, res, 0, st)
			return
		}
		for _, v := range r.dict(n) { // appearance states: /On, /Off ...
			if ref, ok := v.(pdfRef); ok {
				r.form(ref, r.dict(ref), res, 0, st)
			}
		}
	case pdfDict:
		for _, v := range n {
			if ref, ok := v.(pdfRef); ok {
				r.form(ref, r.dict(ref), res, 0, st)
			}
		}
	}
}

// font returns the decoder of a font resource, once per font object.
func (r *pdfReader) font(v any) *pdfFont {
	ref, isRef := v.(pdfRef)
	if isRef {
		if f, ok := r.fonts[ref.num]; ok {
			return f
		}
	}
	d := r.dict(v)
	if d == nil {
		return nil
	}
	f := r.newPDFFont(d)
	if isRef {
		r.fonts[ref.num] = f
	}
	return f
}

// pdfStringKeys are the entries whose strings a viewer shows outside page content:
// form field values and tooltips, annotation texts, document information, bookmarks.
var pdfStringKeys = []string{"V", "Contents", "RC", "TU", "Title", "Author", "Subject", "Keywords", "CA"}

// strings collects the shown strings of a dictionary.
func (r *pdfReader) strings(d pdfDict) {
	for _, k := range pdfStringKeys {
		if s, ok := d[k].(pdfStr); ok {
			r.extra = append(r.extra, pdfTextString(s)...)
			r.extra = append(r.extra, '\n')
		}
	}
}

// pdf extracts a PDF: its text, the reasons it cannot be cleared, and its embedded
// files like attachments.
func (x *extractor) pdf(data []byte, name string, depth int) {
	r := readPDF(x.ctx, data, &x.budget)
	x.text(name, append(r.text, r.extra...))
	for _, reason := range r.reasons {
		x.unreadable(reason)
	}
	for i, e := range r.embedded {
		if depth+1 > x.lim.MaxDepth {
			x.unreadable(ReasonLimit)
			return
		}
		x.doc(e, path.Join(name, "embedded-"+strconv.Itoa(i+1)), depth+1)
	}
}
