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
		case cl&clCtxMember != 0 && s.idWithin(i+1, 6, 5):
			s.hit(MemberID, i)
		case cl&clCtxMRN != 0 && s.idWithin(i+1, 5, 4) && !s.tradeAccount(i):
			s.hit(MRN, i)
		}
	}
}

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
