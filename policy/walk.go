package policy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"

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
	top          message.Header
	charsetPath  string // part whose declared charset is unknown
}

func newScan(ctx context.Context, e *Engine) *scan {
	return &scan{
		e: e, ctx: ctx, lim: e.cfg.Limits,
		opt: detect.Options{Recipients: map[string]bool{}, Senders: map[string]bool{}},
	}
}

// message reads a whole message (or a message/rfc822 part) and walks it.
func (s *scan) message(r io.Reader, path string, depth int) error {
	ent, err := readEntity(r)
	if ent == nil {
		s.markUnreadable(path, unreadStructure)
		return nil
	}
	s.noteEntityError(path, err)
	s.header(ent.Header, path, depth == 0)
	return s.entity(ent, path, depth)
}

// entity walks one MIME entity.
func (s *scan) entity(ent *message.Entity, path string, depth int) error {
	s.parts++
	if s.parts > s.lim.MaxParts || depth > s.lim.MaxDepth {
		s.markUnreadable(path, unreadLimit)
		return errStop
	}
	if err := s.ctx.Err(); err != nil {
		s.markUnreadable(path, unreadLimit)
		return errStop
	}
	mt, params, _ := ent.Header.ContentType()
	if strings.HasPrefix(mt, "multipart/") {
		return s.multipart(textproto.NewMultipartReader(ent.Body, params["boundary"]), path, depth)
	}
	if mt == "message/rfc822" || mt == "message/global" {
		return s.message(ent.Body, childPath(path, 1), depth+1)
	}
	return s.leaf(ent, mt, path, depth)
}

func (s *scan) multipart(mr *textproto.MultipartReader, path string, depth int) error {
	for i := 1; ; i++ {
		raw, err := mr.NextPart()
		if err == io.EOF {
			return nil
		}
		cp := childPath(path, i)
		if raw == nil {
			s.markUnreadable(cp, unreadStructure)
			return nil
		}
		p, err := newEntity(raw.Header, raw)
		s.noteEntityError(cp, err)
		if err := s.entity(p, cp, depth+1); err != nil {
			return err
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
		s.charsetPath = partName(path) // decided in readBody: ASCII or UTF-8 text is readable anyway
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
	name := filename(ent.Header)
	if name != "" {
		s.analyse(path, []byte(filenameText(name)))
	}
	switch {
	case strings.HasPrefix(mt, "image/") || strings.HasPrefix(mt, "audio/") || strings.HasPrefix(mt, "video/"):
		return nil
	case strings.HasSuffix(strings.ToLower(name), ".eml"):
		return s.message(bytes.NewReader(data), childPath(path, 1), depth+1)
	case isEncryptedPart(mt):
		s.markUnreadable(path, "encrypted")
		return nil
	}
	s.extract(extract.Doc{MediaType: mt, Filename: name, Data: data}, path)
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
	if s.charsetPath != "" && s.charsetPath == path {
		s.charsetPath = ""
		if !utf8.Valid(data) {
			s.markUnreadable(path, unreadCharset)
		}
	}
	return data
}

// extract turns a body into texts and analyses them.
func (s *scan) extract(doc extract.Doc, path string) {
	res := extract.Extract(s.ctx, doc, s.extractLimits())
	for _, t := range res.Texts {
		s.analyse(path, t.Body)
	}
	s.signals(path, res.Signals)
	for _, r := range res.Unreadable {
		s.markUnreadable(path, r)
	}
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
	_ = s.e.an.Scan(s.ctx, text, &s.opt, &c)
	s.scanned += int64(len(text))
	s.record(part, &c)
}

func (s *scan) record(part string, c *detect.Counts) {
	for id := detect.ID(0); id < detect.NumIDs; id++ {
		if n := c[id]; n > 0 {
			s.reasons = addReason(s.reasons, Reason{Detector: id.String(), Part: part, Count: int(n), Confidence: id.Confidence()})
		}
	}
	s.total.Add(c)
}

func (s *scan) signals(part string, sig extract.Signals) {
	var c detect.Counts
	c[detect.CDAPatient] = int32(sig.CDAPatient)
	c[detect.CDAClinical] = int32(sig.CDAClinical)
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
