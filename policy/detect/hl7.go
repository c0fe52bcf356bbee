package detect

import "bytes"

// scanHL7 counts HL7 v2 segments in text: a PID segment naming a patient, and clinical
// segments (observations, diagnoses, allergies, orders of medicine, problems). Segments
// start a line (CR or LF), a three-character segment ID followed by '|'.
func scanHL7(text []byte, out *Counts) {
	if len(text) < 4 || bytes.IndexByte(text, '|') < 0 || (bytes.Index(text, []byte("PID|")) < 0 && bytes.Index(text, []byte("OBX|")) < 0 && bytes.Index(text, []byte("DG1|")) < 0) {
		return
	}
	for len(text) > 0 {
		line := text
		if k := bytes.IndexAny(text, "\r\n"); k >= 0 {
			line, text = text[:k], text[k+1:]
		} else {
			text = nil
		}
		if len(line) < 4 || line[3] != '|' {
			continue
		}
		switch string(line[:3]) {
		case "PID":
			if hl7Name(hl7Field(line, 5)) {
				out[HL7Patient]++
			}
		case "OBX", "DG1", "AL1", "PRB", "RXE", "RXO", "RXA", "RXD", "PR1", "OBR":
			out[HL7Clinical]++
		}
	}
}

// hl7Field returns field n of a segment (the segment ID is field 0), or nil if empty.
func hl7Field(line []byte, n int) []byte {
	for i := 0; i < n; i++ {
		k := bytes.IndexByte(line, '|')
		if k < 0 {
			return nil
		}
		line = line[k+1:]
	}
	if k := bytes.IndexByte(line, '|'); k >= 0 {
		line = line[:k]
	}
	if len(line) == 0 {
		return nil
	}
	return line
}

// hl7Name reports whether a PID-5 patient name field (family^given^middle^...) holds a
// name: a component of two letters or more that is not a placeholder ("<FAMILY>",
// "LAST", "TEST^PATIENT" in a specification or sample).
func hl7Name(f []byte) bool {
	if f == nil || bytes.ContainsAny(f, "<>{}[]") {
		return false
	}
	named := false
	for _, c := range bytes.Split(f, []byte("^")) {
		letters := 0
		for _, b := range c {
			if b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b >= 0x80 {
				letters++
			}
		}
		if letters < 2 {
			continue
		}
		switch string(bytes.ToLower(bytes.TrimSpace(c))) {
		case "family", "given", "middle", "last", "first", "name", "lastname", "firstname",
			"last name", "first name", "patient", "test", "testpatient", "sample", "dummy",
			"xxx", "xxxx", "prefix", "suffix", "surname", "apellido", "nombre":
			return false
		}
		named = true
	}
	return named
}
