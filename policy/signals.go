package policy

import (
	"strings"
	"unicode"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"

	"github.com/sealgate/sealgate/addr"
	"github.com/sealgate/sealgate/policy/detect"
	"github.com/sealgate/sealgate/policy/lexicon"
)

// msgSignals is what the scorer weighs besides the message-wide detector totals: where
// findings sit (Subject, attachment file names, nested messages) and what the header
// says about the people the message is between.
type msgSignals struct {
	subject   detect.Counts // findings in the top-level Subject
	filenames detect.Counts // findings in attachment file names
	nested    int           // message/rfc822 parts and forwarded messages
	attached  int           // parts with a file name

	toCount    int  // addresses in To and Cc
	toPerson   bool // a To/Cc display name is a person's name
	toPhone    bool // a To mailbox is a telephone number (an SMS gateway)
	toRole     bool // every To mailbox is a role, team or list
	toOrg      bool // a To display name names an organisation
	toOutside  bool // a To mailbox is at a domain other than the sender's
	toHealth   bool // a To display name or domain names a health-care organisation
	toNamed    bool // a To/Cc display name or mailbox holds a given name and a surname (US lists)
	fromNamed  bool // the From display name or mailbox holds a given name and a surname
	fromPerson bool // the From display name is a person's name
	fromRole   bool // the From mailbox is a role (noreply@, billing@)
	fromHealth bool // the From display name or domain names a health-care organisation
	fromOrg    bool // the From display name names an organisation
	listMail   bool // List-Id, List-Unsubscribe or Precedence: bulk/list
	nestedList bool // a forwarded or attached message is list mail (a newsletter passed on)
	replyChain bool // the Subject says reply or forward (Re:, Fwd:, RV:, TR:)
}

// analyseName analyses an attachment's file name as text and keeps its findings apart,
// since a name in a file name ties that person to the file.
func (s *scan) analyseName(path, name string) {
	var c detect.Counts
	s.scanText(path+"/filename", []byte(filenameText(name)), &c)
	s.record(path, &c)
	s.msg.filenames.Add(&c)
	s.msg.attached++
}

// headerFacts reads the top-level header for the people the message is between.
func (s *scan) headerFacts(h mail.Header) {
	m := &s.msg
	from, _ := h.AddressList("From")
	fromDomain := ""
	for _, a := range from {
		fromDomain = addr.DomainOf(a.Address)
		m.fromPerson = m.fromPerson || s.e.an.PersonName(a.Name) != nil
		m.fromRole = m.fromRole || roleAddress(a.Address)
		m.fromHealth = m.fromHealth || healthOrg(a.Name+" "+fromDomain)
		m.fromNamed = m.fromNamed || namedPerson(a.Name, a.Address)
		m.fromOrg = m.fromOrg || (a.Name != "" && s.e.an.OrgName(a.Name))
	}
	roles := 0
	for _, key := range []string{"To", "Cc"} {
		list, _ := h.AddressList(key)
		for _, a := range list {
			m.toCount++
			m.toPerson = m.toPerson || s.e.an.PersonName(a.Name) != nil
			m.toOrg = m.toOrg || (a.Name != "" && s.e.an.OrgName(a.Name))
			m.toPhone = m.toPhone || phoneMailbox(a.Address)
			m.toHealth = m.toHealth || healthOrg(a.Name+" "+addr.DomainOf(a.Address))
			m.toNamed = m.toNamed || namedPerson(a.Name, a.Address)
			if roleAddress(a.Address) {
				roles++
			}
			if d := addr.DomainOf(a.Address); d != "" && fromDomain != "" && !sameOrg(d, fromDomain) {
				m.toOutside = true
			}
		}
	}
	m.toRole = m.toCount > 0 && roles == m.toCount
	m.listMail = isListMail(h.Header)
}

// individualToHealth reports mail written by an individual into a health-care
// organisation: the sender is neither a role mailbox nor a health-care or other
// organisation, and writes to a health-care organisation at another domain (a patient
// asking the clinic about a symptom from a personal address).
func (m *msgSignals) individualToHealth() bool {
	return !m.fromRole && !m.fromHealth && !m.fromOrg && m.toHealth && m.toOutside && !m.listMail
}

// isListMail reports a header of list or bulk mail: List-Id, List-Unsubscribe or
// Precedence: bulk/list.
func isListMail(h message.Header) bool {
	prec := strings.ToLower(h.Get("Precedence"))
	return h.Get("List-Id") != "" || h.Get("List-Unsubscribe") != "" || prec == "bulk" || prec == "list"
}

// healthOrgParts are pieces of organisation names and domains that place a sender in
// health care ("Larkspur Pharmacy", "aldercrest-health.example", "brightsmiledental"); a
// mailbox for patients ("Patient Accounts", "Patient Financial Services") is one.
var healthOrgParts = []string{"health", "patient", "clinic", "hospital", "medical", "medicine", "pharm", "rx", "dental",
	"dentist", "ortho", "pediatric", "peds", "derm", "cardio", "onco", "hospice", "therapy", "therap", "counsel",
	"care", "md", "doctor", "physician", "nurse", "lab", "radiology", "imaging", "surgery", "surgical",
	"vision", "optom", "eye", "hearing", "rehab", "wellness", "behavioral", "psych", "urgent", "family medicine",
	"fm", "obgyn", "women", "hmo", "insurance", "medicare", "medicaid", "benefit", "salud", "santé", "sante",
	"médic", "medic", "clínica", "clinique", "farmacia", "pharmacie", "医院", "诊所", "药房"}

// healthOrg reports whether a display name or domain names a health-care organisation.
func healthOrg(s string) bool {
	s = strings.ToLower(s)
	for _, p := range healthOrgParts {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

// namedPerson reports whether a display name, or else the local part of an address
// ("ann.lee", "lee_ann7"), holds both a given name and a surname of the US name lists and
// is not an organisation's name.
func namedPerson(display, addr string) bool {
	local, _, _ := strings.Cut(addr, "@")
	for _, text := range []string{display, local} {
		words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && r != '\'' })
		if len(words) < 2 || len(words) > 5 || healthOrg(text) {
			continue
		}
		given, family := false, false
		for _, w := range words {
			given = given || lexicon.GivenName(w) > 0
			family = family || lexicon.Surname(w) > 0 || lexicon.OtherName(w)
		}
		if given && family {
			return true
		}
	}
	return false
}

// replyPrefix reports whether a Subject starts as a reply or a forward.
func replyPrefix(subj string) bool {
	l := strings.ToLower(strings.TrimSpace(subj))
	for _, p := range []string{"re:", "fw:", "fwd:", "rv:", "tr:", "aw:", "wg:", "回复", "转发"} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return false
}

// sameOrg reports whether two domains belong to one organisation: equal, or one a
// subdomain of the other.
func sameOrg(a, b string) bool {
	return a == b || strings.HasSuffix(a, "."+b) || strings.HasSuffix(b, "."+a)
}

// phoneMailbox reports whether an address's local part is a telephone number, as SMS
// gateways use ("5415550123@txt.example").
func phoneMailbox(addr string) bool {
	local, _, _ := strings.Cut(addr, "@")
	local = strings.TrimPrefix(local, "+")
	if len(local) < 10 || len(local) > 15 {
		return false
	}
	for i := 0; i < len(local); i++ {
		if local[i] < '0' || local[i] > '9' {
			return false
		}
	}
	return true
}
