package extract

import (
	"bytes"
	"strings"
)

// Tables finds delimited tables in plain text - a header line and at least two rows
// with the same number of '|', tab or ';' separators (blank lines between rows allowed),
// the way a system exports a patient or charge list into a message body or a .txt
// attachment, and the way an HTML table is rendered - and writes each row as
// "column: value" pairs, as CSV does, so that a column's name labels every value under
// it. Other text, and HL7 v2 segments (which the detectors read as segments), are kept
// as they are. The result is at most maxOut bytes longer than text; a nil result means
// the text has no table.
func Tables(text []byte, maxOut int) []byte {
	if bytes.IndexByte(text, '|') < 0 && bytes.IndexByte(text, '\t') < 0 && bytes.IndexByte(text, ';') < 0 {
		return nil // no separator, no table (most prose): not worth splitting into lines
	}
	lines := bytes.SplitAfter(text, []byte("\n"))
	var out []byte
	done := 0 // lines before done are written to out (when out is not nil)
	for i := 0; i < len(lines); {
		sep, n := tableRun(lines[i:])
		if n == 0 {
			i++
			continue
		}
		if out == nil {
			out = make([]byte, 0, len(text)+len(text)/2)
		}
		for _, l := range lines[done:i] {
			out = append(out, l...)
		}
		out = appendTable(out, lines[i:i+n], sep)
		if len(out) > len(text)+maxOut {
			return out[:len(text)+maxOut]
		}
		i += n
		done = i
	}
	if out == nil {
		return nil
	}
	for _, l := range lines[done:] {
		out = append(out, l...)
	}
	return out
}

// tableRun returns the separator and length of the table starting at lines[0], or 0.
func tableRun(lines [][]byte) (byte, int) {
	head := lines[0]
	if isSegment(head) {
		return 0, 0
	}
	for _, sep := range []byte{'|', '\t', ';'} {
		k := bytes.Count(head, []byte{sep})
		if k < 2 {
			continue
		}
		n, rows := 1, 1 // lines in the table so far (up to its last row), rows among them
		for j := 1; j < len(lines) && !isSegment(lines[j]); j++ {
			l := lines[j]
			if len(bytes.TrimSpace(l)) == 0 {
				continue // a blank line between rows, as an HTML table is rendered
			}
			if c := bytes.Count(l, []byte{sep}); c != k && !(sep == '|' && isRule(l)) {
				break
			}
			n, rows = j+1, rows+1
		}
		if rows >= 3 {
			return sep, n
		}
	}
	return 0, 0
}

// isSegment reports an HL7 v2 segment line ("PID|...").
func isSegment(l []byte) bool {
	if len(l) < 4 || l[3] != '|' {
		return false
	}
	for _, c := range l[:3] {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// isRule reports a Markdown table rule ("|---|:--:|").
func isRule(l []byte) bool {
	return len(bytes.Trim(l, "|-: \t\r\n")) == 0 && bytes.Contains(l, []byte("-"))
}

// appendTable writes a table's rows as "column: value" pairs.
func appendTable(out []byte, lines [][]byte, sep byte) []byte {
	header := splitCells(lines[0], sep)
	out = append(out, lines[0]...)
	for _, l := range lines[1:] {
		if sep == '|' && isRule(l) || len(bytes.TrimSpace(l)) == 0 {
			continue
		}
		for k, v := range splitCells(l, sep) {
			if v == "" {
				continue
			}
			if k < len(header) && header[k] != "" {
				out = append(out, header[k]...)
				out = append(out, ": "...)
			}
			out = append(out, personName(v)...)
			out = append(out, " ;\t"...)
		}
		out = append(out, '\n')
	}
	return out
}

func splitCells(l []byte, sep byte) []string {
	cells := strings.Split(strings.TrimRight(string(l), "\r\n"), string(sep))
	for k := range cells {
		cells[k] = strings.TrimSpace(strings.Trim(strings.TrimSpace(cells[k]), `"`))
	}
	return cells
}

// personName writes an HL7 person name ("FAMILY^GIVEN^MIDDLE", as extracts and
// interfaces carry it) in reading order and case ("Given Middle Family"); other values
// are returned unchanged.
func personName(v string) string {
	parts := strings.Split(v, "^")
	if len(parts) < 2 || len(parts) > 5 || parts[0] == "" || parts[1] == "" {
		return v
	}
	for _, p := range parts {
		for _, r := range p {
			if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r == '-' || r == '\'' || r == ' ' || r >= 0xC0) {
				return v
			}
		}
	}
	words := append(parts[1:], parts[0])
	var b strings.Builder
	for _, w := range words {
		if w == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		if strings.ToUpper(w) == w {
			w = strings.ToUpper(w[:1]) + strings.ToLower(w[1:])
		}
		b.WriteString(w)
	}
	return b.String()
}
