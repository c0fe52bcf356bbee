package detect

import "bytes"

// nameWindow is how many tokens around a person's name are searched for health terms.
const nameWindow = 14

// names finds people's names: runs of two to four capitalised words that are not
// vocabulary, calendar, organisation or role words. A name after a patient label is a
// patient identifier; a name after a greeting, or one of the recipient's own names,
// means the message speaks to its recipient; a name after a clinician's title or a
// closing is not the patient's. Any other name close to health information counts as
// a name near health.
func (s *scanner) names() {
	next := 0 // tokens before next are part of a name already classified
	for _, c := range s.nameC {
		i := int(c)
		if i < next {
			continue
		}
		t := s.toks[i]
		if t.kind == tkWord && s.cls[i]&clPatientLbl != 0 {
			if a, b := s.upperRun(i); b-a >= 2 {
				s.hit(PatientName, i) // "PATIENT: TOLLIVER, ANOUK"
				next = b
				continue
			}
		}
		if t.kind == tkWord && s.cls[i]&clNameLbl != 0 && isNameLabel(s.word(i)) {
			if a, b := s.upperRun(i); b-a >= 2 {
				s.nearName(a, b) // "NAME: TOLLIVER, ANOUK", a table's name column
				next = b
				continue
			}
		}
		if t.kind != tkWord || t.flags&fCap == 0 {
			continue
		}
		if s.isRecipientWord(i) {
			s.hit(Addressed, i)
		}
		if s.cls[i]&clGreeting != 0 {
			s.greeting(i)
			continue
		}
		end := s.nameRun(i)
		if end-i == 1 {
			end = s.lastFirst(i)
		}
		if end-i < 2 {
			continue
		}
		s.classifyName(i, end)
		next = end
	}
}

// nameRun returns the end of the run of name-like words starting at i. A run that
// contains an organisation, calendar or common word is not a name ("Mercy Vale General
// Hospital"); a vocabulary or context word after the name ends it ("Ann Lee Acct").
func (s *scanner) nameRun(i int) int {
	j := i
	for j < len(s.toks) && j-i < 4 {
		t := s.toks[j]
		hyphenated := j > i && t.gap == gapNone && s.toks[j-1].ch == '-'
		if t.kind != tkWord || (j > i && t.gap != gapSpace && !hyphenated) {
			break
		}
		initial := t.e-t.s == 1 && t.flags&fUpper != 0 && j > i
		if (t.flags&fCap == 0 || t.e-t.s < 2) && !initial {
			break
		}
		if s.cls[j]&clNotName != 0 || !nameShaped(s.word(j), j == i) {
			return i
		}
		if s.cls[j] != 0 {
			break
		}
		j++
		if j+1 < len(s.toks) && s.toks[j].ch == '-' && s.toks[j].gap == gapNone &&
			s.toks[j+1].gap == gapNone && s.toks[j+1].flags&fCap != 0 {
			j++ // a double-barrelled name: Nightingale-Ross
		}
	}
	if j-i == 4 && j < len(s.toks) && s.toks[j].kind == tkWord && s.toks[j].gap == gapSpace &&
		s.toks[j].flags&fCap != 0 && s.cls[j] == 0 {
		return i // part of a longer capitalised title
	}
	if j > i && s.toks[j-1].e-s.toks[j-1].s == 1 {
		j-- // a trailing initial is not part of the name
	}
	return j
}

// classifyName decides what the name in tokens [i, end) is.
func (s *scanner) classifyName(i, end int) {
	if s.isSender(i, end) || s.providerAfter(end) || s.notPatientAfter(end) {
		return
	}
	if p := s.prevWord(i, 3); p >= 0 {
		cl := s.cls[p]
		switch {
		case cl&(clProvider|clClosing|clSpecialty) != 0:
			return // "Dr. Ann Lee", "Regards, Ann Lee", "Chief of Surgery Ann Lee"
		case cl&clGreeting != 0:
			s.hit(Addressed, i)
			return
		case cl&clPatientLbl != 0:
			s.hit(PatientName, i)
		}
	}
	s.nearName(i, end)
}

// greeting handles "Hi Wren," and "Dear Ms Tolliver": a capitalised word after a
// greeting word is the recipient's name.
func (s *scanner) greeting(i int) {
	j := i + 1
	if j < len(s.toks) && s.cls[j]&clNameLbl != 0 {
		j = s.skipPunct(j+1, '.')
	}
	if j < len(s.toks) && s.toks[j].kind == tkWord && s.toks[j].flags&fCap != 0 && s.cls[j] == 0 {
		s.hit(Addressed, i)
	}
}

// Kinds of information near a name, weakest first.
const (
	nearNone   = iota
	nearCare   // a procedure, a specialty or a care event
	nearHealth // a condition, a medicine, a lab result or a diagnosis code
)

// nearInfo returns the strongest kind of information within nameWindow words or numbers
// of the name in [i, end): specific health information (a condition, a medicine, a lab
// result or a diagnosis code), else a procedure, a specialty or a care event ("20-week
// anatomy ultrasound (Ann Lee)", "Ann Lee - crown prep"), which staff rosters and
// teaching also put beside names, so the scorer weighs it apart. Punctuation does not
// count, so a phone number or a date between the name and the term does not push it
// away. One walk serves both kinds: names are many in a patient list.
func (s *scanner) nearInfo(i, end int) int {
	found := nearNone
	for j, n := i-1, 0; j >= 0 && n < nameWindow; j-- {
		if found = max(found, s.infoAt(j)); found == nearHealth {
			return found
		}
		if s.toks[j].kind != tkPunct {
			n++
		}
	}
	for j, n := end, 0; j < len(s.toks) && n < nameWindow; j++ {
		if found = max(found, s.infoAt(j)); found == nearHealth {
			return found
		}
		if s.toks[j].kind != tkPunct {
			n++
		}
	}
	return found
}

// infoAt is the kind of information token j holds (see nearInfo).
func (s *scanner) infoAt(j int) int {
	switch {
	case s.cls[j]&(clCondition|clDrug) != 0 || s.mark[j]&mkHealth != 0:
		return nearHealth
	case s.cls[j]&(clProcedure|clSpecialty|clCareEvent) != 0:
		return nearCare
	}
	return nearNone
}

// notPatientAfter reports whether the words after a name say what a professional does
// ("Ann Lee presented", "Ann Lee said") or make it a group ("Mercy Vale surgeons").
func (s *scanner) notPatientAfter(end int) bool {
	for j := end; j < len(s.toks) && j < end+2; j++ {
		if s.toks[j].kind == tkWord {
			return s.cls[j]&clNotPatient != 0
		}
	}
	return false
}

// providerAfter reports whether credentials follow a name ("Ann Lee, MD").
func (s *scanner) providerAfter(end int) bool {
	j := s.skipPunct(end, ',')
	if j >= len(s.toks) || s.toks[j].kind != tkWord {
		return false
	}
	switch string(s.word(j)) {
	case "md", "do", "rn", "np", "pa", "phd", "dds", "dmd", "pharmd", "rph", "lcsw", "lpc",
		"psyd", "dnp", "fnp", "aprn", "mph", "facp", "crnp", "od":
		return true
	}
	return false
}

// isSender reports whether the name in [i, end) is the sender's own (a signature): all
// of its words, up to two, are words of a sender's display name. A patient who shares
// only the sender's first name is still a patient.
func (s *scanner) isSender(i, end int) bool {
	if len(s.opt.Senders) == 0 {
		return false
	}
	n := 0
	for j := i; j < end; j++ {
		if s.sendBits&(1<<(s.toks[j].h&63)) != 0 && s.opt.Senders[string(s.word(j))] {
			n++
		}
	}
	return n >= min(2, end-i)
}

// isRecipientWord reports whether token i is a word of a recipient's display name.
func (s *scanner) isRecipientWord(i int) bool {
	if s.rcptBits&(1<<(s.toks[i].h&63)) == 0 || s.toks[i].e-s.toks[i].s < 3 {
		return false
	}
	return s.opt.Recipients[string(s.word(i))]
}

// possessive finds health words that belong to the reader ("your calcitriol", "su
// apnea") or to the writer ("my insulin"), and care events addressed to the reader.
func (s *scanner) possessive() {
	for _, c := range s.posC {
		i := int(c)
		if s.cls[i]&clCareEvent != 0 {
			s.hit(PersonalCare, i)
		}
		if s.cls[i]&clMine != 0 {
			if s.healthAfter(i) {
				s.hit(WriterHealth, i)
			}
			continue
		}
		if s.cls[i]&clPossessive == 0 {
			continue
		}
		for j := i + 1; j < len(s.toks) && j <= i+6; j++ {
			t := s.toks[j]
			if t.gap == gapLine || (t.kind == tkPunct && (t.ch == '.' || t.ch == '!' || t.ch == '?' || t.ch == ';')) {
				break
			}
			if s.cls[j]&clBlockNoun != 0 {
				break
			}
			if s.cls[j]&(clHealth|clAnalyte) != 0 || s.mark[j]&mkHealth != 0 {
				if !s.institutionAfter(j) {
					s.hit(PersonalHealth, i)
				}
				break
			}
			if s.cls[j]&clStop != 0 {
				break // "your gift to the cancer center": the health word is not yours
			}
			if s.cls[j]&clHealthWord != 0 {
				s.hit(PersonalCare, i)
				break
			}
		}
	}
}

// healthAfter reports whether a health word follows token i within the sentence, before
// any collective noun ("my patients").
func (s *scanner) healthAfter(i int) bool {
	j := i + 1
	for j < len(s.toks) && firstPersonVerb(s.word(j)) {
		j++ // "I have had ...", "I was taking ..."
	}
	for lim := j + 6; j < len(s.toks) && j <= lim; j++ {
		t := s.toks[j]
		if t.gap == gapLine || (t.kind == tkPunct && (t.ch == '.' || t.ch == '!' || t.ch == '?' || t.ch == ';')) {
			return false
		}
		if s.cls[j]&clBlockNoun != 0 {
			return false
		}
		if s.cls[j]&(clCondition|clDrug|clProcedure|clAnalyte) != 0 || s.mark[j]&mkHealth != 0 {
			return true
		}
		if s.cls[j]&clStop != 0 {
			return false
		}
	}
	return false
}

// upperRun finds a name in capitals after the label at i, as forms, faxes and table
// exports write it: "PATIENT: DOE, JANE", "PATIENT NAME JANE DOE", "NAME: GUERRERO,
// MATEO" - two to four upper-case words. It returns the name's tokens [start, end), an
// empty range when there is none.
func (s *scanner) upperRun(i int) (int, int) {
	j := i + 1
	for j < len(s.toks) && (s.toks[j].ch == ':' || (s.toks[j].kind == tkWord && s.cls[j]&clNameLbl != 0)) {
		j++
	}
	start, n := j, 0
	for ; j < len(s.toks) && n < 4; j++ {
		t := s.toks[j]
		if t.kind == tkPunct && t.ch == ',' && n == 1 {
			continue
		}
		if t.kind != tkWord || t.flags&fUpper == 0 || t.e-t.s < 2 || t.gap == gapLine || s.cls[j] != 0 {
			break
		}
		n++
	}
	if n < 2 {
		return start, start
	}
	return start, j
}

// isNameLabel reports whether a name label word introduces a person's full name
// ("Name:", "Nombre:"), as opposed to "Re:" or "for".
func isNameLabel(w []byte) bool {
	switch string(w) {
	case "name", "nombre", "nom":
		return true
	}
	return false
}

// nearName counts the name in [i, end) as near health or care information.
func (s *scanner) nearName(i, end int) {
	switch s.nearInfo(i, end) {
	case nearHealth:
		s.hit(NameNearHealth, i)
	case nearCare:
		s.hit(NameNearCare, i)
	}
}

// lastFirst reads "Tolliver, Anouk" after a patient or name label, or heading a line
// before a dash or colon, and returns the end of the name, or i+1 when the form does not
// apply ("Boston, Massachusetts" has no label).
func (s *scanner) lastFirst(i int) int {
	if i+2 >= len(s.toks) {
		return i + 1
	}
	c, f := s.toks[i+1], s.toks[i+2]
	if c.ch != ',' || c.gap != gapNone || f.kind != tkWord || f.flags&fCap == 0 || f.gap != gapSpace || s.cls[i+2] != 0 {
		return i + 1
	}
	if p := s.prevWord(i, 3); p >= 0 && s.cls[p]&(clPatientLbl|clNameLbl) != 0 {
		return i + 3
	}
	// Without a label: "Jessup, Gaetano - strep positive" heading a line, the way a
	// list, a subject or a sign-out names its patient, the name closed by a dash, colon,
	// parenthesis or slash.
	if (i == 0 || s.toks[i].gap == gapLine) && i+3 < len(s.toks) {
		if e := s.toks[i+3]; e.kind == tkPunct && (e.ch == '-' || e.ch == ':' || e.ch == '(' || e.ch == '/') {
			return i + 3
		}
	}
	return i + 1
}

// nameShaped rejects words whose ending marks an ordinary English word rather than a
// name: title-case headlines ("Understanding Seasonal Allergies", "Medication
// Management") otherwise read like names. A first word ending in -ing is a verb.
func nameShaped(w []byte, first bool) bool {
	if first && len(w) >= 6 && bytes.HasSuffix(w, []byte("ing")) {
		return false
	}
	if len(w) < 7 {
		return true
	}
	for _, suf := range []string{"tion", "sion", "ment", "ness", "ous", "ful", "less", "ical", "ity", "onal", "ive", "ogy"} {
		if bytes.HasSuffix(w, []byte(suf)) {
			return false
		}
	}
	return true
}

// firstPersonVerb reports the verbs that continue "I ..." before what the writer has.
func firstPersonVerb(w []byte) bool {
	switch string(w) {
	case "have", "had", "been", "am", "was", "take", "taking", "started", "starting", "feel",
		"felt", "got", "ve", "m", "'", "also", "still", "now", "recently":
		return true
	}
	return false
}

// institutionAfter reports whether the health word at j names a programme, a service or
// a job rather than a condition of the reader: "your diabetes program", "your oncology
// unit", "your cardiac ICU experience".
func (s *scanner) institutionAfter(j int) bool {
	for k := j + 1; k < len(s.toks) && k <= j+4; k++ {
		switch {
		case s.toks[k].kind != tkWord:
			if s.toks[k].gap == gapLine || s.toks[k].ch != '-' {
				return false
			}
		case s.cls[k]&clInstitution != 0:
			return true
		case s.cls[k]&(clHealth|clAnalyte) == 0:
			return false // "your diabetes is": the health word is the noun
		}
		// a health word of the same compound: "your cardiac ICU experience"
	}
	return false
}
