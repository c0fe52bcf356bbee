package extract

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"strings"
)

// CSV renders delimited text as "header: value" pairs, one record per line, so that a
// column named "dob" puts its label next to each value. The delimiter (comma,
// semicolon or tab) is guessed from the first line. Malformed records are kept as far
// as they parse. Repeating headers can multiply the size of sparse tables, so the
// rendering stops at maxOut bytes with ErrTooLarge.
func CSV(src []byte, maxOut int) ([]byte, error) {
	maxOut = max(maxOut, 0)
	r := csv.NewReader(bytes.NewReader(src))
	r.Comma = guessDelimiter(src)
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	r.ReuseRecord = false
	header, err := r.Read()
	if err != nil {
		return src, nil
	}
	var out bytes.Buffer
	out.Grow(len(src) * 2)
	out.WriteString(strings.Join(header, "\t"))
	out.WriteByte('\n')
	for out.Len() <= maxOut {
		rec, err := r.Read()
		if err == io.EOF {
			return out.Bytes(), nil
		}
		if err != nil && rec == nil {
			out.Write(src[min(int(r.InputOffset()), len(src)):])
			break
		}
		for k, v := range rec {
			if k < len(header) && header[k] != "" {
				out.WriteString(header[k])
				out.WriteString(": ")
			}
			out.WriteString(v)
			out.WriteString(" ;\t")
		}
		out.WriteByte('\n')
	}
	if out.Len() > maxOut {
		return out.Bytes()[:maxOut], ErrTooLarge
	}
	return out.Bytes(), nil
}

func guessDelimiter(src []byte) rune {
	line := src
	if k := bytes.IndexByte(src, '\n'); k >= 0 {
		line = src[:k]
	}
	best, n := ',', bytes.Count(line, []byte(","))
	if c := bytes.Count(line, []byte(";")); c > n {
		best, n = ';', c
	}
	if c := bytes.Count(line, []byte("\t")); c > n {
		best = '\t'
	}
	return best
}

// HL7 returns an HL7 v2 message with its segment separators (CR) turned into line
// breaks, so segments read as lines and field separators split words.
func HL7(src []byte) []byte {
	out := bytes.ReplaceAll(src, []byte("\r\n"), []byte("\n"))
	return bytes.ReplaceAll(out, []byte("\r"), []byte("\n"))
}

// JSON renders a JSON document as "key: value" lines so that keys label their values.
// Invalid JSON yields the text read so far followed by the raw rest; nesting deeper than
// maxDepth is not parsed but kept as raw text. Since a key is repeated for every value of
// an array, the rendering stops at maxOut bytes with ErrTooLarge.
func JSON(src []byte, maxDepth, maxOut int) ([]byte, error) {
	out, _, err := JSONRecord(src, maxDepth, maxOut)
	return out, err
}

// JSONRecord is JSON that also reads FHIR resources (objects with a "resourceType"): a
// Patient with a name is written as a "Patient:" line and counted, and clinical
// resources are counted, as the XML rendering does. A stream of JSON values (FHIR bulk
// export NDJSON) is read value after value.
func JSONRecord(src []byte, maxDepth, maxOut int) ([]byte, Signals, error) {
	var sig Signals
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	var out bytes.Buffer
	stack := []jsonLevel{{}}
	for {
		if out.Len() > maxOut {
			return out.Bytes()[:max(maxOut, 0)], sig, ErrTooLarge
		}
		t, err := dec.Token()
		if err != nil {
			if err != io.EOF {
				out.Write(src[min(int(dec.InputOffset()), len(src)):])
			}
			return out.Bytes(), sig, nil
		}
		top := &stack[len(stack)-1]
		switch v := t.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				if len(stack) > maxDepth {
					out.Write(src[min(int(dec.InputOffset()), len(src)):])
					return out.Bytes(), sig, nil
				}
				stack = append(stack, jsonLevel{object: v == '{', wantKey: v == '{', key: top.key,
					underName: top.underName || top.key == "name", field: top.key})
			default:
				top.closeResource(&out, &sig)
				stack = stack[:len(stack)-1]
				if p := &stack[len(stack)-1]; p.object {
					p.wantKey = true
				}
			}
		case string:
			if top.object && top.wantKey {
				top.key, top.wantKey = v, false
				continue
			}
			noteResource(stack, v)
			writeJSONValue(&out, top, v)
		default:
			writeJSONValue(&out, top, jsonScalar(v))
		}
	}
}

// jsonLevel is one open object or array while rendering JSON.
type jsonLevel struct {
	object    bool
	wantKey   bool
	key       string
	underName bool     // inside a "name" value
	rtype     string   // the object's "resourceType"
	given     []string // a Patient's given names
	family    []string // a Patient's family names (or the whole name as text)
	field     string   // the key this object is the value of ("subject")
	subject   string   // the display name of the patient a clinical resource is about
}

// noteResource notes a string value for the FHIR reading: the resourceType of the open
// object, or a part of a name, kept by the resource that holds the name.
func noteResource(stack []jsonLevel, v string) {
	top := &stack[len(stack)-1]
	switch {
	case top.object && top.key == "resourceType":
		top.rtype = v
	case top.object && top.key == "display" && (top.field == "subject" || top.field == "patient") && len(stack) >= 2:
		// "subject": {"reference": "Patient/123", "display": "Ann Lee"}: whom the
		// resource holding this reference is about.
		stack[len(stack)-2].subject = v
	case top.underName && (top.key == "given" || top.key == "family" || top.key == "text"):
		for k := len(stack) - 1; k >= 0; k-- {
			if r := &stack[k]; r.object && !r.underName {
				if top.key == "given" {
					r.given = append(r.given, v)
				} else {
					r.family = append(r.family, v)
				}
				return
			}
		}
	}
}

// closeResource counts an object that is a FHIR resource as it closes.
func (l *jsonLevel) closeResource(out *bytes.Buffer, sig *Signals) {
	switch {
	case !l.object:
	case l.rtype == "Patient" && len(l.given)+len(l.family) > 0:
		sig.RecordPatient++
		out.WriteString("\nPatient: " + strings.Join(append(l.given, l.family...), " ") + "\n")
	case fhirClinical[l.rtype]:
		sig.RecordClinical++
		if l.subject != "" {
			sig.RecordPatient++
			out.WriteString("\nPatient: " + l.subject + "\n")
		}
	}
}

func writeJSONValue(out *bytes.Buffer, top *jsonLevel, v string) {
	if top.key != "" {
		out.WriteString(top.key)
		out.WriteString(": ")
	}
	out.WriteString(v)
	out.WriteByte('\n')
	if top.object {
		top.wantKey = true
	}
}

func jsonScalar(v any) string {
	switch x := v.(type) {
	case json.Number:
		return x.String()
	case bool:
		if x {
			return "true"
		}
		return "false"
	}
	return ""
}

// ICS renders an iCalendar file: folded lines are unfolded, escapes undone, and the
// properties that carry free text (summary, description, location, comment, attendee
// and organizer names) are written as "name: value" lines.
func ICS(src []byte) []byte {
	unfolded := bytes.ReplaceAll(src, []byte("\r\n"), []byte("\n"))
	unfolded = bytes.ReplaceAll(unfolded, []byte("\n "), nil)
	unfolded = bytes.ReplaceAll(unfolded, []byte("\n\t"), nil)
	var out bytes.Buffer
	for _, line := range bytes.Split(unfolded, []byte("\n")) {
		nameParams, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		name, params, _ := bytes.Cut(nameParams, []byte(";"))
		switch strings.ToUpper(string(name)) {
		case "SUMMARY", "DESCRIPTION", "LOCATION", "COMMENT", "CATEGORIES":
			out.WriteString(strings.ToLower(string(name)))
			out.WriteString(": ")
			out.Write(icsUnescape(value))
			out.WriteByte('\n')
		case "ATTENDEE", "ORGANIZER":
			if cn := icsParam(params, "CN"); cn != "" {
				out.WriteString(strings.ToLower(string(name)))
				out.WriteString(": ")
				out.WriteString(cn)
				out.WriteByte('\n')
			}
		}
	}
	return out.Bytes()
}

func icsUnescape(v []byte) []byte {
	r := strings.NewReplacer(`\n`, "\n", `\N`, "\n", `\,`, ",", `\;`, ";", `\\`, `\`)
	return []byte(r.Replace(string(v)))
}

func icsParam(params []byte, key string) string {
	for _, p := range bytes.Split(params, []byte(";")) {
		k, v, ok := bytes.Cut(p, []byte("="))
		if ok && strings.EqualFold(string(k), key) {
			return strings.Trim(string(v), `"`)
		}
	}
	return ""
}
