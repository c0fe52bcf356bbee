package detect

// groups is a run of digit groups joined by one kind of separator ("123-45-6789").
type groups struct {
	lens  [6]int
	n     int
	sep   byte // '-', '.', '/', ' ', or 0 for a single group
	end   int  // index of the token after the run
	total int  // digits in all groups
}

// digitGroups collects the digit groups starting at number token i.
func (s *scanner) digitGroups(i int) groups {
	var g groups
	s.dig = s.dig[:0]
	j := i
	for {
		t := s.toks[j]
		s.dig = append(s.dig, s.low[t.s:t.e]...)
		g.lens[g.n] = int(t.e - t.s)
		g.n++
		g.total += g.lens[g.n-1]
		j++
		if g.n == len(g.lens) || j >= len(s.toks) {
			break
		}
		sep, next := s.separatorAt(j)
		if sep == 0 || next >= len(s.toks) || s.toks[next].kind != tkNum || (g.sep != 0 && sep != g.sep) {
			break
		}
		g.sep = sep
		j = next
	}
	g.end = j
	return g
}

// separatorAt says whether token j (just after a number) joins it to another number,
// returning the separator and the index of that number.
func (s *scanner) separatorAt(j int) (byte, int) {
	t := s.toks[j]
	if t.kind == tkNum && t.gap == gapSpace && t.s-s.toks[j-1].e == 1 {
		return ' ', j
	}
	if t.kind == tkPunct && t.gap == gapNone && (t.ch == '-' || t.ch == '.' || t.ch == '/') &&
		j+1 < len(s.toks) && s.toks[j+1].gap == gapNone {
		return t.ch, j + 1
	}
	return 0, 0
}

// numbers finds the identifiers and codes made of digits and letters.
func (s *scanner) numbers() {
	next := 0 // tokens before next are part of an identifier already counted
	for _, c := range s.numC {
		i := int(c)
		if i < next {
			continue
		}
		t := s.toks[i]
		if t.kind == tkWord {
			s.alnumCode(i)
			continue
		}
		if i > 0 && t.gap == gapNone && s.joinedBefore(i) {
			continue
		}
		g := s.digitGroups(i)
		if s.digitID(i, g) {
			for k := i; k < g.end; k++ {
				s.mark[k] |= mkUsed
			}
			next = g.end
		}
	}
}

// joinedBefore reports whether number token i continues an alphanumeric token before it.
func (s *scanner) joinedBefore(i int) bool {
	p := s.toks[i-1]
	return p.kind == tkWord || p.kind == tkNum || (p.kind == tkPunct && (p.ch == '-' || p.ch == '.' || p.ch == '/'))
}

// digitID classifies a run of digit groups; it returns true when it counted something.
func (s *scanner) digitID(i int, g groups) bool {
	d := string(s.dig)
	switch {
	case g.n == 3 && g.lens[0] == 3 && g.lens[1] == 2 && g.lens[2] == 4 && g.sep != 0:
		// With slashes it could be another kind of number; a label says it is an SSN.
		if ValidSSN(d) && (g.sep != '/' || s.hasClassBefore(i, 6, clCtxSSN)) {
			s.hit(SSN, i)
			return true
		}
	case g.n == 1 && g.total == 9:
		if s.hasClassBefore(i, 6, clCtxSSN) && ValidSSN(d) {
			s.hit(SSN, i)
			return true
		}
	case g.n == 1 && g.total == 10:
		if s.hasClassBefore(i, 4, clCtxNPI) && ValidNPI(d) {
			s.hit(NPI, i)
			return true
		}
	}
	if g.n == 3 && g.sep == '-' && ValidNDC(g.lens[:3]) && s.hasClassBefore(i, 6, clCtxNDC) {
		s.hit(NDC, i)
		s.mark[i] |= mkHealth
		return true
	}
	if g.total >= 13 && g.total <= 19 && g.sep != '.' && g.sep != '/' && cardLayout(g) && ValidCard(d) {
		s.hit(Card, i)
		return true
	}
	return false
}

// cardLayout reports whether groups are laid out like a card number: one run, groups of
// four, or the 4-6-5 American Express layout.
func cardLayout(g groups) bool {
	if g.n == 1 {
		return true
	}
	if g.n == 3 && g.lens[0] == 4 && g.lens[1] == 6 && g.lens[2] == 5 {
		return true
	}
	for k := 0; k < g.n-1; k++ {
		if g.lens[k] != 4 {
			return false
		}
	}
	return g.lens[g.n-1] >= 1 && g.lens[g.n-1] <= 4
}

// alnumCode checks a token mixing letters and digits: MBI, DEA number, ICD-10-CM code.
func (s *scanner) alnumCode(i int) {
	w := s.low[s.toks[i].s:s.toks[i].e]
	switch {
	case len(w) == 4 && s.mbiDashed(i):
		s.hit(MBI, i)
		s.mark[i] |= mkUsed
	case len(w) == 11 && ValidMBI(string(w)) && s.hasClassBefore(i, 8, clCtxMBI):
		s.hit(MBI, i)
		s.mark[i] |= mkUsed
	case len(w) == 9 && ValidDEA(string(w)):
		s.hit(DEA, i)
		s.mark[i] |= mkUsed
	case len(w) == 3 && !ageSex(w):
		s.icdCode(i)
	case ageSex(w):
		s.ageSexAt(i)
	}
}

// ageSex reports whether a lower-cased word is clinical shorthand for a person's age
// and sex or age alone: "71m", "34f", "6yo".
func ageSex(w []byte) bool {
	n := 0
	for n < len(w) && n < 3 && w[n] >= '0' && w[n] <= '9' {
		n++
	}
	if n == 0 || w[0] == '0' {
		return false
	}
	switch string(w[n:]) {
	case "m", "f", "yo", "yom", "yof":
		age := 0
		for _, c := range w[:n] {
			age = age*10 + int(c-'0')
		}
		return age <= 110
	}
	return false
}

// ageSexAt counts the age and sex at i, and the capitalised word before it as a
// patient's name when it reads as one ("Hollis 71M", "GUERRERO 34M" in a sign-out or a
// board export).
func (s *scanner) ageSexAt(i int) {
	s.hit(AgeSex, i)
	s.mark[i] |= mkUsed
	p := s.prevWord(i, 2)
	if p < 0 || s.toks[i].gap == gapLine || (p == i-2 && s.toks[i-1].ch != ',') {
		return // "AGE/SEX: 34M": a label, not a name
	}
	t := s.toks[p]
	if t.flags&(fCap|fUpper) != 0 && t.e-t.s >= 2 && s.cls[p] == 0 && nameShaped(s.word(p), true) {
		s.hit(PatientName, p)
	}
}

// mbiDashed reports whether tokens i.. read as an MBI in its printed 4-3-4 form.
func (s *scanner) mbiDashed(i int) bool {
	if i+4 >= len(s.toks) {
		return false
	}
	a, d1, b, d2, c := s.toks[i], s.toks[i+1], s.toks[i+2], s.toks[i+3], s.toks[i+4]
	if d1.ch != '-' || d2.ch != '-' || b.e-b.s != 3 || c.e-c.s != 4 ||
		d1.gap|b.gap|d2.gap|c.gap != gapNone {
		return false
	}
	v := string(s.low[a.s:a.e]) + string(s.low[b.s:b.e]) + string(s.low[c.s:c.e])
	return ValidMBI(v)
}

// icdCode checks whether token i starts an ICD-10-CM code with clinical context: a
// diagnosis-code word shortly before it, or health vocabulary close by.
func (s *scanner) icdCode(i int) {
	t := s.toks[i]
	if i > 0 && t.gap == gapNone && s.joinedBefore(i) {
		return // part of a longer code: "3B57-Z27-BE35"
	}
	code := string(s.low[t.s:t.e])
	end := i + 1
	if i+2 < len(s.toks) && s.toks[i+1].ch == '.' && s.toks[i+1].gap == gapNone && s.toks[i+2].gap == gapNone {
		n := s.toks[i+2]
		if n.kind == tkNum || n.kind == tkWord {
			code += "." + string(s.low[n.s:n.e])
			end = i + 3
		}
	}
	if end < len(s.toks) && s.toks[end].gap == gapNone && (s.toks[end].ch == '-' || s.toks[end].kind != tkPunct) {
		return
	}
	if !ValidICD10CM(code) {
		return
	}
	if s.hasClassBefore(i, 10, clCtxICD) || s.hasClassNear(i, 6, clCondition) {
		s.hit(ICD10, i)
		s.mark[i] |= mkHealth
	}
}
