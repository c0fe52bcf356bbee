package policy

import (
	"fmt"
	"io"
	"mime"
	"strings"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"

	"github.com/sealgate/sealgate/addr"
	"github.com/sealgate/sealgate/policy/detect"
)

// filename returns the decoded attachment file name of a part, if any.
func filename(h message.Header) string {
	_, params, _ := h.ContentDisposition()
	name := params["filename"]
	if name == "" {
		_, params, _ = h.ContentType()
		name = params["name"]
	}
	if strings.Contains(name, "=?") {
		if dec, err := decodeWords(name); err == nil {
			name = dec
		}
	}
	return name
}

// filenameText turns a file name into words: "Okafor_Harriet_DOB_1962-03-14.pdf" ->
// "Okafor Harriet DOB 1962-03-14". Dashes stay, since they join dates and codes.
func filenameText(name string) string {
	if dot := strings.LastIndexByte(name, '.'); dot > 0 && len(name)-dot <= 6 {
		name = name[:dot]
	}
	return strings.Map(func(r rune) rune {
		if r == '_' || r == '+' {
			return ' '
		}
		return r
	}, name)
}

// decodeWords decodes RFC 2047 encoded-words with the charsets go-message knows.
func decodeWords(s string) (string, error) {
	d := &mime.WordDecoder{CharsetReader: func(cs string, r io.Reader) (io.Reader, error) {
		rd, err := message.CharsetReader(cs, r)
		if err != nil {
			return nil, fmt.Errorf("charset: %w", err)
		}
		return rd, nil
	}}
	return d.DecodeHeader(s)
}

// header takes what the detectors need from a message header: the Subject is analysed
// as text; display names of recipients and senders tell whose name a greeting or a
// signature holds.
func (s *scan) header(h message.Header, path string, top bool) {
	mh := mail.Header{Header: h}
	subj, err := mh.Subject()
	if err != nil {
		subj = h.Get("Subject")
	}
	if top {
		s.subject = subj
		s.top = h
	}
	for _, key := range []string{"To", "Cc"} {
		for _, name := range s.displayNames(mh, key) {
			s.personalTo = true
			for _, w := range name {
				s.opt.Recipients[w] = true
			}
		}
	}
	for _, key := range []string{"From", "Sender", "Reply-To"} {
		for _, name := range s.displayNames(mh, key) {
			s.personalFrom = s.personalFrom || (top && key == "From")
			for _, w := range name {
				s.opt.Senders[w] = true
			}
		}
	}
	if top {
		s.senderContext(mh)
		s.headerFacts(mh)
		if list, _ := mh.AddressList("To"); len(list) == 1 && !roleAddress(list[0].Address) && !s.e.an.OrgName(list[0].Name) {
			s.personalTo = true // one mailbox that is neither a role nor an organisation: a person's
		}
	}
	if !top {
		s.msg.nested++
		s.msg.nestedList = s.msg.nestedList || isListMail(h)
	}
	if subj == "" {
		return
	}
	if !top {
		s.analyse(path+"/subject", []byte(subj))
		return
	}
	s.msg.replyChain = replyPrefix(subj)
	var c detect.Counts
	s.scanText("subject", []byte(subj), &c)
	s.record("subject", &c)
	s.msg.subject.Add(&c)
}

// senderContext looks at the From display name and domain for context only (animal
// care, bulk mail): "Hillside Animal Hospital", "hillsidevet.example".
func (s *scan) senderContext(h mail.Header) {
	list, _ := h.AddressList("From")
	for _, a := range list {
		var c detect.Counts
		_ = s.e.an.Scan(s.ctx, []byte(a.Name), nil, &c)
		dom := addr.DomainOf(a.Address)
		label, _, _ := strings.Cut(dom, ".")
		if c[detect.Veterinary] > 0 || strings.HasSuffix(label, "vet") || strings.Contains(label, "animal") ||
			strings.Contains(label, "veterin") {
			s.total[detect.Veterinary]++
			s.reasons = addReason(s.reasons, Reason{Detector: detect.Veterinary.String(), Part: "header", Count: 1,
				Confidence: detect.Veterinary.Confidence()})
		}
	}
}

func (s *scan) displayNames(h mail.Header, key string) [][]string {
	list, _ := h.AddressList(key)
	var out [][]string
	for _, a := range list {
		if w := s.e.an.PersonName(a.Name); w != nil {
			out = append(out, w)
		}
	}
	return out
}

// roleAddress reports whether an address belongs to a role, team or list rather than a
// person: one of the words of its local part names a function ("records", "intake",
// "all-staff", "noreply").
func roleAddress(addr string) bool {
	local, _, _ := strings.Cut(strings.ToLower(addr), "@")
	words := strings.FieldsFunc(local, func(r rune) bool { return !('a' <= r && r <= 'z') })
	for _, w := range words {
		switch w {
		case "info", "contact", "support", "help", "admin", "office", "team", "staff", "all", "everyone",
			"list", "lists", "news", "noreply", "no", "reply", "records", "intake", "claims", "orders",
			"billing", "hr", "it", "sales", "marketing", "hello", "front", "desk", "frontdesk",
			"scheduling", "appointments", "referrals", "interfaces", "hie", "roster", "coders",
			"leadership", "committee", "transfers", "pharmacy", "pharmacies", "rx", "lab", "results",
			"reception", "nurses", "residents", "ops", "security", "privacy", "compliance", "careers",
			"jobs", "events", "education", "research", "dept", "department", "group", "vendor",
			"accounts", "payments", "underwriting", "um", "hiring", "talent", "partners", "members",
			"service", "customerservice", "care", "clinic", "coordinator", "counselor", "triage":
			return true
		}
	}
	return len(words) == 0
}
