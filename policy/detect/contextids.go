package detect

// contextIDs finds identifiers that only mean something after their context words:
// dates of birth, record and account numbers, member IDs.
func (s *scanner) contextIDs() {
	next := 0 // tokens before next are part of a date of birth already counted
	for _, c := range s.ctxC {
		i := int(c)
		if i < next {
			continue
		}
		cl := s.cls[i]
		if cl&clCtxContact != 0 && s.contactWithin(i+1, 6) {
			s.hit(Contact, i)
			continue
		}
		if cl&(clCtxDOB|clCtxMRN|clCtxMember) == 0 {
			continue
		}
		if cl&clCtxDOB != 0 {
			if end, ok := s.dateWithin(i+1, 8); ok {
				s.hit(DOB, i)
				next = end
				continue
			}
		}
		switch {
		case cl&clCtxMember != 0 && s.idWithin(i+1, 6, 5) && !s.bareMemberNumber(i):
			s.hit(MemberID, i)
		case cl&clCtxMRN != 0 && s.idWithin(i+1, 5, 4) && !s.tradeAccount(i):
			s.hit(MRN, i)
		}
	}
}

// bareMemberNumber reports whether the member label at i is the word "member" alone
// with a short number right after it ("Dear member 10477", "member 20931 of the choir")
// and no word of health coverage near: a club's, a union's or a newsletter's numbering
// of its members, not a health plan's member ID. A labelled ID ("member ID", "member
// #"), a long or lettered value ("member W2201 48813") or a plan, a claim or coverage
// near it keeps it a member ID.
func (s *scanner) bareMemberNumber(i int) bool {
	if string(s.word(i)) != "member" {
		return false
	}
	j := i + 1
	for j < len(s.toks) && s.toks[j].kind == tkPunct && (s.toks[j].ch == ':' || s.toks[j].ch == ',') {
		j++
	}
	if j >= len(s.toks) || s.toks[j].kind != tkNum || s.toks[j].e-s.toks[j].s >= minBareMemberID {
		return false
	}
	if k := j + 1; k+1 < len(s.toks) && s.toks[k].kind == tkPunct && s.toks[k].gap == gapNone &&
		isJoiner(s.toks[k].ch) && s.toks[k+1].kind != tkPunct && s.toks[k+1].gap == gapNone {
		return false // more groups: "member 4471-2290"
	}
	if k := j + 1; k < len(s.toks) && s.toks[k].kind == tkNum {
		return false // more groups: "member 334 884 4941"
	}
	for k := max(i-coverageWindow, 0); k < min(i+coverageWindow, len(s.toks)); k++ {
		if k != i && s.toks[k].kind == tkWord && s.coverageWord(k) {
			return false
		}
	}
	return true
}

// minBareMemberID is the fewest digits of a number that reads as a health plan's member
// ID after the bare word "member": plans number their members with nine or more
// characters, clubs and mailing lists with fewer.
const minBareMemberID = 8

// coverageWindow is how many tokens around a bare member label are searched for words of
// health coverage.
const coverageWindow = 24

// coverageWord reports whether word token k speaks of health coverage: a member or
// subscriber label other than the bare word "member" ("member ID", "subscriber",
// "policy number", "Medicaid"), a word of insurance and claims, or "plan" after the kind
// of plan or "your" ("health plan", "dental plan", "your plan").
func (s *scanner) coverageWord(k int) bool {
	w := string(s.word(k))
	if s.cls[k]&clCtxMember != 0 && w != "member" {
		return true
	}
	if coverageWords[w] {
		return true
	}
	if w == "plan" || w == "plans" {
		if p := s.prevWord(k, 1); p >= 0 && planKinds[string(s.word(p))] {
			return true
		}
	}
	return false
}

// coverageWords are words of health insurance and claims.
var coverageWords = map[string]bool{"insurance": true, "insurer": true, "insured": true,
	"coverage": true, "benefits": true, "claim": true, "claims": true, "eligibility": true,
	"copay": true, "copayment": true, "coinsurance": true, "deductible": true, "premium": true,
	"premiums": true, "payer": true, "hmo": true, "ppo": true, "medicaid": true, "medicare": true,
	"enrollment": true, "enrollee": true, "formulary": true, "preauthorization": true,
	"authorization": true, "subscriber": true, "dependents": true, "eob": true}

// planKinds are the words before "plan" that make it a health plan.
var planKinds = map[string]bool{"health": true, "medical": true, "dental": true, "vision": true,
	"insurance": true, "benefit": true, "benefits": true, "drug": true, "prescription": true,
	"medicare": true, "medicaid": true, "advantage": true, "your": true}

// tradeAccount reports whether the label at i is a bare "account" among the words of
// trade ("Order 0266 confirmed, Ship to: ..., Account: 0046922"): a customer account
// with a supplier, not a patient's. A patient account keeps its label ("patient
// account", "account" in a statement for care).
func (s *scanner) tradeAccount(i int) bool {
	switch string(s.word(i)) {
	case "account", "acct":
	default:
		return false
	}
	if p := s.prevWord(i, 1); p >= 0 && s.cls[p]&clPatientLbl != 0 {
		return false
	}
	for j := max(i-tradeWindow, 0); j < min(i+tradeWindow, len(s.toks)); j++ {
		if s.toks[j].kind == tkWord && tradeWords[string(s.word(j))] {
			return true
		}
	}
	return false
}

// tradeWords are the words of a supply chain: an order, what is shipped and to whom.
// Not "delivery", "invoice" or "customer", which statements for care and equipment
// delivered to a patient use too.
var tradeWords = map[string]bool{"order": true, "orders": true, "po": true, "shipment": true,
	"shipping": true, "shipped": true, "ship": true, "tracking": true, "sku": true, "qty": true,
	"quantity": true, "backorder": true, "backordered": true, "warehouse": true, "wholesale": true,
	"distributor": true, "supplier": true, "procurement": true, "catalog": true, "cart": true,
	"checkout": true, "pedido": true, "commande": true}

// tradeWindow is how many tokens around an account label are searched for words of
// trade.
const tradeWindow = 24

// dateWithin reports whether a date starts within n tokens from i, before a line break.
// It returns the index after the date.
func (s *scanner) dateWithin(i, n int) (int, bool) {
	for j := i; j < len(s.toks) && j < i+n; j++ {
		if j > i+1 && s.toks[j].gap == gapLine {
			return 0, false
		}
		if end, ok := s.dateAt(j); ok {
			return end, true
		}
	}
	return 0, false
}

// idWithin reports whether an identifier value with at least minDigits digits starts
// within n tokens from i: one alphanumeric token, or digit groups joined by spaces or
// dashes ("334 884 4941").
func (s *scanner) idWithin(i, n, minDigits int) bool {
	for j := i; j < len(s.toks) && j < i+n; j++ {
		t := s.toks[j]
		if t.kind == tkPunct {
			continue
		}
		if t.kind == tkWord && t.flags&fDigit == 0 {
			if maskedMarker(s.word(j)) {
				return false // "account ending 4099": the last digits of a masked number
			}
			continue
		}
		if s.mark[j]&mkUsed != 0 {
			return false
		}
		if t.kind == tkNum {
			g := s.digitGroups(j)
			return g.total >= minDigits && g.total <= 20
		}
		return countDigits(s.low[t.s:t.e]) >= minDigits-1
	}
	return false
}

// maskedMarker reports a word that introduces the visible end of a masked number.
func maskedMarker(w []byte) bool {
	switch string(w) {
	case "ending", "ends", "last", "xxxx", "xxx", "masked":
		return true
	}
	return false
}

func countDigits(b []byte) int {
	n := 0
	for _, c := range b {
		if isDigit(c) {
			n++
		}
	}
	return n
}

// contactWithin reports whether a phone number ("(614) 555-0129", "614-555-0129") or a
// street address ("44 Elm St") starts within n tokens from i.
func (s *scanner) contactWithin(i, n int) bool {
	for j := i; j < len(s.toks) && j < i+n; j++ {
		t := s.toks[j]
		if t.kind == tkPunct {
			continue
		}
		if t.kind != tkNum {
			if j > i+2 {
				return false
			}
			continue
		}
		g := s.digitGroups(j)
		if g.total == 10 || g.total == 7 || (g.n == 1 && g.lens[0] == 3 && j > 0 && s.toks[j-1].ch == '(') {
			return true // phone
		}
		return g.n == 1 && g.lens[0] <= 6 && j+1 < len(s.toks) && s.toks[j+1].flags&fCap != 0
	}
	return false
}
