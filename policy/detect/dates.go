package detect

// dateAt reports whether a calendar date starts at token i and returns the index of the
// token after it. It accepts 02/28/1976, 2-28-76, 1976-02-28, 19760228, February 28,
// 1976, 28 Feb 1976 and "28 de febrero de 1976".
func (s *scanner) dateAt(i int) (int, bool) {
	t := s.toks[i]
	if t.kind == tkNum {
		if end, ok := s.numericDate(i); ok {
			return end, true
		}
		return s.dayMonthYear(i)
	}
	if t.kind == tkWord && s.cls[i]&clMonth != 0 {
		return s.monthDayYear(i)
	}
	return 0, false
}

func (s *scanner) num(i int) (int, int) {
	t := s.toks[i]
	return atoi(string(s.low[t.s:t.e])), int(t.e - t.s)
}

// numericDate reads m/d/y, d.m.y, y-m-d and yyyymmdd forms.
func (s *scanner) numericDate(i int) (int, bool) {
	a, la := s.num(i)
	if la == 8 {
		return i + 1, validYMD(a/10000, a/100%100, a%100)
	}
	if i+4 >= len(s.toks) {
		return 0, false
	}
	sep := s.toks[i+1]
	if sep.kind != tkPunct || sep.gap != gapNone || (sep.ch != '/' && sep.ch != '-' && sep.ch != '.') {
		return 0, false
	}
	if s.toks[i+2].kind != tkNum || s.toks[i+3].ch != sep.ch || s.toks[i+4].kind != tkNum ||
		s.toks[i+2].gap|s.toks[i+3].gap|s.toks[i+4].gap != gapNone {
		return 0, false
	}
	b, lb := s.num(i + 2)
	c, lc := s.num(i + 4)
	end := i + 5
	if la == 4 && lb <= 2 && lc <= 2 {
		return end, validYMD(a, b, c)
	}
	if la > 2 || lb > 2 || (lc != 2 && lc != 4) {
		return 0, false
	}
	if lc == 2 {
		c += 1900
	}
	return end, validYMD(c, a, b) || validYMD(c, b, a)
}

// monthDayYear reads "February 28, 1976" and "Feb. 28 1976".
func (s *scanner) monthDayYear(i int) (int, bool) {
	j := s.skipPunct(i+1, '.')
	if j >= len(s.toks) {
		return 0, false
	}
	d, ld, ok := s.dayNum(j)
	if !ok {
		return 0, false
	}
	j = s.skipPunct(j+1, ',')
	if ld > 2 || d < 1 || d > 31 || j >= len(s.toks) || s.toks[j].kind != tkNum {
		return 0, false
	}
	y, ly := s.num(j)
	return j + 1, ly == 4 && y >= 1900 && y <= 2100
}

// dayMonthYear reads "28 February 1976", "28-Feb-1976" and "28 de febrero de 1976".
func (s *scanner) dayMonthYear(i int) (int, bool) {
	d, ld := s.num(i)
	if ld > 2 || d < 1 || d > 31 {
		return 0, false
	}
	j := s.skipFiller(i + 1)
	if j >= len(s.toks) || s.cls[j]&clMonth == 0 {
		return 0, false
	}
	j = s.skipFiller(j + 1)
	if j >= len(s.toks) || s.toks[j].kind != tkNum {
		return 0, false
	}
	y, ly := s.num(j)
	return j + 1, ly == 4 && y >= 1900 && y <= 2100
}

// skipPunct skips one punctuation token c at j.
func (s *scanner) skipPunct(j int, c byte) int {
	if j < len(s.toks) && s.toks[j].kind == tkPunct && s.toks[j].ch == c {
		return j + 1
	}
	return j
}

// skipFiller skips a dash, dot, comma or the Spanish "de" at j.
func (s *scanner) skipFiller(j int) int {
	if j >= len(s.toks) {
		return j
	}
	t := s.toks[j]
	if t.kind == tkPunct && (t.ch == '-' || t.ch == '.' || t.ch == ',' || t.ch == '/') {
		return j + 1
	}
	if t.kind == tkWord && string(s.low[t.s:t.e]) == "de" {
		return j + 1
	}
	return j
}

func validYMD(y, m, d int) bool {
	return y >= 1900 && y <= 2100 && m >= 1 && m <= 12 && d >= 1 && d <= 31
}

// dayNum reads a day of the month, plain or ordinal ("14", "14th", "1st").
func (s *scanner) dayNum(j int) (int, int, bool) {
	t := s.toks[j]
	w := s.low[t.s:t.e]
	if t.kind == tkNum {
		return atoi(string(w)), len(w), true
	}
	if t.kind != tkWord || len(w) < 3 || len(w) > 4 {
		return 0, 0, false
	}
	digits := w[:len(w)-2]
	switch string(w[len(w)-2:]) {
	case "st", "nd", "rd", "th":
		if allDigits(string(digits)) {
			return atoi(string(digits)), len(digits), true
		}
	}
	return 0, 0, false
}
