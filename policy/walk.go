package policy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/emersion/go-message"

	"github.com/sealgate/sealgate/mailtext"
	"github.com/sealgate/sealgate/policy/detect"
	"github.com/sealgate/sealgate/policy/extract"
)

// errStop ends the walk early; what was found so far still counts.
var errStop = errors.New("policy: walk stopped")

// Unreadable reason codes, reported as detector "unreadable_<code>" with the part.
const (
	unreadCharset   = "charset"
	unreadEncoding  = "transfer_encoding"
	unreadTruncated = "decode_error"
	unreadLimit     = "limit"
	unreadStructure = "mime_structure"
)

// scan is the state of one check: it walks the MIME tree, extracts and analyses text.
type scan struct {
	e            *Engine
	ctx          context.Context
	lim          Limits
	parts        int
	decoded      int64
	scanned      int64
	opt          detect.Options
	total        detect.Counts
	reasons      []Reason
	unreadable   int
	personalTo   bool
	personalFrom bool
	subject      string
	msg          msgSignals // what the scorer weighs besides the totals
	explain      *explainer // set by Explain
	top          message.Header
	media        []mediaPart     // image, audio and video parts, settled at the end
	cids         map[string]bool // Content-IDs that HTML bodies reference (cid: URLs)
}

func newScan(ctx context.Context, e *Engine) *scan {
	return &scan{
		e: e, ctx: ctx, lim: e.cfg.Limits,
		opt: detect.Options{Recipients: map[string]bool{}, Senders: map[string]bool{}, Bag: e.bags.Get().(*detect.Bag)},
	}
}

// whole walks the message msg, whose header h has already been read (by
// smtpd as it took the message, or by Check): the top-level header is not
// read again.
func (s *scan) whole(msg []byte, h *mailtext.Header) error {
	body := msg[h.BodyOffset():]
	ent, err := newEntity(h.Textproto(), bytes.NewReader(body))
	return s.walkMessage(ent, body, err, "", 0)
}

// messageFrom walks a message inside a message (a message/rfc822 part, an
// attached .eml). Its header is read as the top-level one is, by
// mailtext.ParseHeader within the same limits; one that does not read
// leaves the part unreadable.
func (s *scan) messageFrom(msg []byte, path string, depth int) error {
	h, err := mailtext.ParseHeader(msg)
	if err != nil {
		s.markUnreadable(path, headerReason(err))
		return nil
	}
	body := msg[h.BodyOffset():]
	ent, err := newEntity(h.Textproto(), bytes.NewReader(body))
	return s.walkMessage(ent, body, err, path, depth)
}

// walkMessage walks a message whose header is read; raw is its body as
// written, err what reading it as an entity reported (an unknown charset
// or transfer encoding).
func (s *scan) walkMessage(ent *message.Entity, raw []byte, err error, path string, depth int) error {
	s.noteEntityError(path, err)
	s.header(ent.Header, path, depth == 0)
	err = s.entity(ent, raw, path, depth)
	if depth == 0 {
		s.settleMedia()
	}
	return err
}

// entity walks one MIME entity; raw is its body as written.
func (s *scan) entity(ent *message.Entity, raw []byte, path string, depth int) error {
	if err := s.count(path, depth); err != nil {
		return err
	}
	if conflictingFields(&ent.Header) {
		s.markUnreadable(path, unreadStructure) // read by the first field, as go-message does
	}
	mt, params, _ := ent.Header.ContentType()
	if strings.HasPrefix(mt, "multipart/") {
		return s.multipart(raw, params["boundary"], path, depth) // its transfer encoding ignored, as go-message does (RFC 2045 §6.4)
	}
	if mt == "message/rfc822" || mt == "message/global" {
		return s.messageFrom(s.bodyOf(ent, raw, path), childPath(path, 1), depth+1)
	}
	if mt == "message/partial" {
		// One fragment of a message split in several (RFC 2046 §5.2.2): what it holds
		// cannot be read whole. What is there is still read.
		s.markUnreadable(path, extract.ReasonUnsupported)
	}
	return s.leaf(ent, mt, path, depth)
}

// inlineFiles reads the files a text part carries inside its text as the attachments
// they are: uuencoded blocks (which Thunderbird and Outlook show as attachments) and
// runs of base64 long enough to be a file (pasted by a script for the recipient to
// decode). A block or run that does not decode, and BinHex, which nothing here reads,
// leave the part unreadable.
func (s *scan) inlineFiles(text []byte, path string) {
	for _, f := range extract.UUFiles(text, s.lim.MaxUnzipBytes) {
		s.noteDecodeError(path, f.Err)
		s.analyseName(path, f.Name)
		s.inlineFile(extract.Doc{Filename: f.Name, Data: f.Data}, path)
	}
	for _, b := range extract.Base64Blobs(text, s.lim.MaxUnzipBytes) {
		s.noteDecodeError(path, b.Err)
		s.inlineFile(extract.Doc{Data: b.Data}, path)
	}
	if extract.BinHex(text) {
		s.markUnreadable(path, extract.ReasonUnsupported)
	}
}

func (s *scan) noteDecodeError(path string, err error) {
	switch {
	case errors.Is(err, extract.ErrTooLarge):
		s.markUnreadable(path, unreadLimit)
	case err != nil:
		s.markUnreadable(path, unreadTruncated)
	}
}

// inlineFile reads a file decoded from a text: an image, audio or video among them is
// never decoration.
func (s *scan) inlineFile(doc extract.Doc, path string) {
	if res := s.extract(doc, path); res.Media != "" && s.e.cfg.Media != MediaIgnore {
		s.markUnreadable(path, extract.ReasonMedia)
	}
}

// conflictingFields reports a part with two Content-Type, Content-Transfer-Encoding
// or Content-Disposition fields that disagree: mail clients differ in which one they
// take, so the part may show what the policy did not read.
func conflictingFields(h *message.Header) bool {
	for _, k := range []string{"Content-Type", "Content-Transfer-Encoding", "Content-Disposition"} {
		vs := h.Values(k)
		for _, v := range vs[min(len(vs), 1):] {
			if !strings.EqualFold(strings.TrimSpace(v), strings.TrimSpace(vs[0])) {
				return true
			}
		}
	}
	return false
}

// count counts one more part at path, depth deep: past the part or depth
// limit, or the time limit, the walk stops with the part unreadable.
func (s *scan) count(path string, depth int) error {
	s.parts++
	if s.parts > s.lim.MaxParts || depth > s.lim.MaxDepth || s.ctx.Err() != nil {
		s.markUnreadable(path, unreadLimit)
		return errStop
	}
	return nil
}

// bodyOf is the body of a message entity (message/rfc822) with its
// transfer encoding undone: raw itself when it has none (the usual case, nothing
// copied), else the decoded body, cut at the decoded-bytes limit.
func (s *scan) bodyOf(ent *message.Entity, raw []byte, path string) []byte {
	switch strings.ToLower(strings.TrimSpace(ent.Header.Get("Content-Transfer-Encoding"))) {
	case "", "7bit", "8bit", "binary":
		return raw
	}
	budget := s.lim.MaxDecodedBytes - s.decoded
	data, err := io.ReadAll(io.LimitReader(ent.Body, budget+1))
	switch {
	case int64(len(data)) > budget:
		data = data[:budget]
		s.markUnreadable(path, unreadLimit)
	case err != nil:
		s.markUnreadable(path, unreadTruncated)
	}
	return data
}

// multipart walks the parts of a multipart body. Each part's header is
// read by mailtext.ParseHeader within the limits of every header; a part
// whose header does not read is unreadable, and so is a body whose parts
// cannot be told apart or that ends before its close delimiter.
func (s *scan) multipart(body []byte, boundary, path string, depth int) error {
	s.outside(body, boundary, path)
	i := 0
	for p, err := range mailtext.Parts(body, boundary) {
		i++
		cp := childPath(path, i)
		switch {
		case errors.Is(err, mailtext.ErrMultipart):
			s.markUnreadable(cp, unreadStructure)
			return nil
		case err != nil:
			if err := s.count(cp, depth+1); err != nil {
				return err
			}
			s.markUnreadable(cp, headerReason(err))
			continue
		}
		ent, err := newEntity(p.Header.Textproto(), bytes.NewReader(p.Body))
		s.noteEntityError(cp, err)
		if err := s.entity(ent, p.Body, cp, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// outside reads the text a multipart body holds outside its parts, its
// preamble and epilogue (mailtext.Outside): mail clients do not show it,
// but it leaves with the message, so what it says counts.
func (s *scan) outside(body []byte, boundary, path string) {
	pre, epi := mailtext.Outside(body, boundary)
	for _, t := range [][]byte{pre, epi} {
		if len(bytes.TrimSpace(t)) > 0 {
			s.analyse(partName(path), bytes.ToValidUTF8(t, []byte(" ")))
		}
	}
}

// partName is the name of a part path in reasons: the top-level body is part "1".
func partName(path string) string {
	if path == "" {
		return "1"
	}
	return path
}

func childPath(path string, i int) string {
	if path == "" {
		return strconv.Itoa(i)
	}
	return path + "." + strconv.Itoa(i)
}

func (s *scan) noteEntityError(path string, err error) {
	switch {
	case err == nil:
	case message.IsUnknownCharset(err):
		// UTF-7 among others: whatever its bytes look like, such a part cannot be read as
		// a mail client shows it, so it cannot be cleared. It is still analysed as it is.
		s.markUnreadable(path, unreadCharset)
	case message.IsUnknownEncoding(err):
		s.markUnreadable(path, unreadEncoding)
	default:
		s.markUnreadable(path, unreadStructure)
	}
}

// leaf reads, extracts and analyses one non-multipart part.
func (s *scan) leaf(ent *message.Entity, mt, path string, depth int) error {
	if path == "" {
		path = "1"
	}
	buf := s.e.bufs.Get().(*bytes.Buffer)
	defer s.e.putBuffer(buf)
	data := s.readBody(ent, path, buf)
	s.notePart(path, mt)
	name := filename(ent.Header)
	if name != "" {
		s.analyseName(path, name)
	}
	switch {
	case strings.HasSuffix(strings.ToLower(name), ".eml") || extract.IsMessage(mt, data):
		return s.messageFrom(data, childPath(path, 1), depth+1)
	case isEncryptedPart(mt):
		s.markUnreadable(path, "encrypted")
		return nil
	case extract.IsSignature(mt, data):
		return nil // a detached signature: certificates and a digest, no text
	}
	doc := extract.Doc{MediaType: mt, Filename: name, Data: data}
	if _, params, _ := ent.Header.ContentType(); !strings.HasPrefix(mt, "text/") {
		doc.Charset = params["charset"] // go-message decodes the charset of text/* only
	} else if extract.NarrowAsWide(params["charset"], data) {
		s.markUnreadable(path, unreadCharset) // 8-bit text said to be UTF-16: noise to a reader
	}
	if mt == "text/html" {
		s.noteCIDs(data)
	}
	if res := s.extract(doc, path); res.Media != "" {
		s.noteMedia(ent.Header, mt, path, res.Media, len(data))
	}
	if mt == "text/plain" {
		s.inlineFiles(data, path)
	}
	if s.decoded >= s.lim.MaxDecodedBytes {
		s.markUnreadable(path, unreadLimit)
		return errStop
	}
	return nil
}

// readBody reads a part's decoded body into buf, within the per-part and total limits.
// A body cut by a limit or a decoding error (truncated base64) is marked unreadable;
// what was read is still returned for analysis.
func (s *scan) readBody(ent *message.Entity, path string, buf *bytes.Buffer) []byte {
	budget := min(s.lim.MaxPartBytes, s.lim.MaxDecodedBytes-s.decoded)
	buf.Reset()
	_, err := buf.ReadFrom(io.LimitReader(ent.Body, budget+1))
	data := buf.Bytes()
	s.decoded += int64(len(data))
	switch {
	case int64(len(data)) > budget:
		data = data[:budget]
		s.markUnreadable(path, unreadLimit)
	case err != nil:
		s.markUnreadable(path, unreadTruncated)
	}
	return data
}

// extract turns a body into texts and analyses them.
func (s *scan) extract(doc extract.Doc, path string) extract.Result {
	res := extract.Extract(s.ctx, doc, s.extractLimits())
	for _, t := range res.Texts {
		s.analyse(path, t.Body)
	}
	s.signals(path, res.Signals)
	for _, r := range res.Unreadable {
		if r == extract.ReasonMedia && s.e.cfg.Media == MediaIgnore {
			continue
		}
		s.markUnreadable(path, r)
	}
	return res
}

func isEncryptedPart(mt string) bool {
	switch mt {
	case "application/pkcs7-mime", "application/x-pkcs7-mime", "application/pgp-encrypted":
		return true
	}
	return false
}

func (s *scan) extractLimits() extract.Limits {
	return extract.Limits{
		MaxOutput: s.lim.MaxUnzipBytes, MaxZipEntries: s.lim.MaxZipEntries,
		MaxDepth: 3, MaxXMLDepth: s.lim.MaxXMLDepth,
	}
}

// analyse runs the detectors over text found in part and records what they found.
func (s *scan) analyse(part string, text []byte) {
	var c detect.Counts
	s.scanText(part, text, &c)
	s.record(part, &c)
}

// scanText runs the detectors over text read from part, adding to c.
func (s *scan) scanText(part string, text []byte, c *detect.Counts) {
	s.opt.Trace = s.noteText(part, text)
	_ = s.e.an.Scan(s.ctx, text, &s.opt, c)
	s.opt.Trace = nil
	s.scanned += int64(len(text))
}

func (s *scan) record(part string, c *detect.Counts) {
	for id := detect.ID(0); id < detect.FirstCue; id++ {
		if n := c[id]; n > 0 {
			s.reasons = addReason(s.reasons, Reason{Detector: id.String(), Part: part, Count: int(n), Confidence: id.Confidence()})
		}
	}
	s.total.Add(c)
}

func (s *scan) signals(part string, sig extract.Signals) {
	var c detect.Counts
	c[detect.RecordPatient] = int32(sig.RecordPatient)
	c[detect.RecordClinical] = int32(sig.RecordClinical)
	s.record(part, &c)
}

// markUnreadable records content that could not be read, as detector
// "unreadable_<reason>" (unreadable_charset, unreadable_encrypted, unreadable_limit, ...).
func (s *scan) markUnreadable(part, reason string) {
	if part == "" {
		part = "1"
	}
	s.unreadable++
	s.reasons = addReason(s.reasons, Reason{Detector: "unreadable_" + reason, Part: part, Count: 1})
}

// addReason merges r into the reason for the same detector and part, if any.
func addReason(rs []Reason, r Reason) []Reason {
	for i := range rs {
		if rs[i].Detector == r.Detector && rs[i].Part == r.Part {
			rs[i].Count += r.Count
			return rs
		}
	}
	return append(rs, r)
}

// rawFallback analyses a message whose structure could not be parsed as plain text.
func (s *scan) rawFallback(msg []byte) {
	s.analyse("1", bytes.ToValidUTF8(msg, []byte(" ")))
}

// decorationMaxBytes is the largest image that can count as decoration: logos,
// icons and signature images are a few KiB; a photo or a scan is larger.
const decorationMaxBytes = 64 << 10

// mediaPart is an image, audio or video part, judged once the whole message is read.
type mediaPart struct {
	path, format, cid string
	inline            bool
	image             bool
	size              int
}

// noteMedia records a part whose bytes are an image, audio or video.
func (s *scan) noteMedia(h message.Header, mt, path, format string, size int) {
	disp, _, _ := h.ContentDisposition()
	s.media = append(s.media, mediaPart{
		path: path, format: format, size: size,
		cid:    normCID(h.Get("Content-Id")),
		inline: disp == "" || strings.EqualFold(disp, "inline"),
		image:  !strings.HasPrefix(mt, "audio/") && !strings.HasPrefix(mt, "video/") && extract.Decoration(format),
	})
}

// settleMedia marks every media part unreadable (reason "media") unless it is
// decoration: an image in a decoration format (PNG, JPEG, GIF, WebP, BMP, ICO), inline,
// referenced by an HTML body through cid:, and at most decorationMaxBytes. Config.Media
// can make every media part unreadable ("protect") or none ("ignore").
func (s *scan) settleMedia() {
	for _, m := range s.media {
		switch {
		case s.e.cfg.Media == MediaIgnore:
		case s.e.cfg.Media == MediaDecoration && m.image && m.inline && m.cid != "" && s.cids[m.cid] &&
			m.size <= decorationMaxBytes:
		default:
			s.markUnreadable(m.path, extract.ReasonMedia)
		}
	}
	s.media = nil
}

// noteCIDs records the Content-IDs an HTML body references ("cid:logo@x" in src or
// background attributes, or in CSS), RFC 2392.
func (s *scan) noteCIDs(html []byte) {
	if !hasCIDScheme(html) {
		return // most HTML: not worth a lower-cased copy
	}
	for rest := bytes.ToLower(html); ; {
		k := bytes.Index(rest, []byte("cid:"))
		if k < 0 {
			return
		}
		rest = rest[k+4:]
		end := 0
		for end < len(rest) && end < 998 && !strings.ContainsRune("\"' \t\r\n>)", rune(rest[end])) {
			end++
		}
		if s.cids == nil {
			s.cids = map[string]bool{}
		}
		if id := normCID(urlUnescape(string(rest[:end]))); id != "" && len(s.cids) < 10000 {
			s.cids[id] = true
		}
	}
}

// hasCIDScheme reports whether b holds "cid:" in any letter case.
func hasCIDScheme(b []byte) bool {
	for i := 3; i < len(b); i++ {
		k := bytes.IndexByte(b[i:], ':')
		if k < 0 {
			return false
		}
		i += k
		if i >= 3 && b[i-3]|0x20 == 'c' && b[i-2]|0x20 == 'i' && b[i-1]|0x20 == 'd' {
			return true
		}
	}
	return false
}

// normCID is a Content-ID without its angle brackets, lower-cased.
func normCID(id string) string {
	return strings.ToLower(strings.Trim(strings.TrimSpace(id), "<>"))
}

// urlUnescape undoes %XX escapes (RFC 2392 cid URLs are URL-encoded).
func urlUnescape(v string) string {
	if !strings.Contains(v, "%") {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '%' && i+2 < len(v) {
			hi, ok1 := unhex(v[i+1])
			lo, ok2 := unhex(v[i+2])
			if ok1 && ok2 {
				b.WriteByte(hi<<4 | lo)
				i += 2
				continue
			}
		}
		b.WriteByte(v[i])
	}
	return b.String()
}
