package detect

// labs finds lab results (an analyte followed by a value with a unit or a reference
// range) and medicine doses (a value followed by a dose unit).
func (s *scanner) labs() {
	for _, c := range s.labC {
		i := int(c)
		if s.cls[i]&clAnalyte != 0 {
			if s.hasClassBefore(i, 4, clAggregate) {
				continue // "average A1c fell from 8.9% to 7.6%": a population figure
			}
			if j, ok := s.valueAfter(i+1, 5); ok && s.unitOrRange(j, 6) || s.qualitative(i) {
				s.hit(LabResult, i)
				s.mark[i] |= mkHealth
			}
			continue
		}
		if s.toks[i].kind == tkNum && s.mark[i]&mkUsed == 0 {
			j := s.afterDecimal(i)
			if j < len(s.toks) && s.cls[j]&clDoseUnit != 0 && s.toks[j].gap != gapLine {
				s.hit(Dose, i)
			}
		}
	}
}

// qualitative reports whether the analyte at i is named with a result in words: "low
// iron", "elevated A1c", "potasio bajo" - a finding about a person, as a value is.
func (s *scanner) qualitative(i int) bool {
	if p := s.prevWord(i, 2); p >= 0 {
		switch string(s.word(p)) {
		case "low", "high", "elevated", "raised", "decreased", "reduced", "abnormal", "borderline",
			"critical", "bajo", "baja", "alto", "alta", "elevado", "elevada":
			return true
		}
	}
	if n := i + 1; n < len(s.toks) && s.toks[n].kind == tkWord && s.toks[n].gap != gapLine {
		switch string(s.word(n)) {
		case "bajo", "baja", "alto", "alta", "elevado", "elevada":
			return true
		}
	}
	return false
}

// valueAfter finds a number within n tokens from i, before a line break, and returns the
// index of the token after it.
func (s *scanner) valueAfter(i, n int) (int, bool) {
	for j := i; j < len(s.toks) && j < i+n; j++ {
		t := s.toks[j]
		if j > i && t.gap == gapLine {
			return 0, false
		}
		if t.kind == tkNum {
			return s.afterDecimal(j), true
		}
	}
	return 0, false
}

// afterDecimal returns the index after the number at i, including a decimal part.
func (s *scanner) afterDecimal(i int) int {
	j := i + 1
	if j+1 < len(s.toks) && s.toks[j].ch == '.' && s.toks[j].gap == gapNone &&
		s.toks[j+1].kind == tkNum && s.toks[j+1].gap == gapNone {
		j += 2
	}
	return j
}

// unitOrRange reports whether a unit, a percent sign or a reference range ("1.7-2.2",
// "(normal 15-150)") follows within n tokens from j.
func (s *scanner) unitOrRange(j, n int) bool {
	for k := j; k < len(s.toks) && k < j+n; k++ {
		t := s.toks[k]
		if k > j && t.gap == gapLine {
			return false
		}
		if (k == j || k == j+1) && (s.cls[k]&clUnit != 0 || t.ch == '%') {
			return true
		}
		if t.kind == tkNum {
			e := s.afterDecimal(k)
			if e+1 < len(s.toks) && s.toks[e].ch == '-' && s.toks[e+1].kind == tkNum {
				return true
			}
		}
	}
	return false
}
