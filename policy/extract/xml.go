package extract

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
)

// Signals are structural findings made while extracting, that plain text would lose.
type Signals struct {
	CDAPatient  int // C-CDA recordTarget with a patient name
	CDAClinical int // C-CDA observations, medications, problems
}

// ErrTooDeep reports XML nested deeper than allowed.
var ErrTooDeep = errors.New("extract: xml nesting too deep")

// xmlState is the state of one XML rendering.
type xmlState struct {
	out      bytes.Buffer
	stack    []string
	inTarget int // depth inside recordTarget
	name     bytes.Buffer
	inName   bool
	sig      Signals
}

// XML renders an XML document as text: character data and displayName attributes, one
// line per block element. In a C-CDA document the recordTarget's patient name and birth
// time are written as "Patient:" and "Date of birth:" lines, and observations and
// medicines are counted as signals. Nesting deeper than maxDepth stops the rendering
// with ErrTooDeep; malformed XML stops it with the text read so far.
func XML(src []byte, maxDepth int) ([]byte, Signals, error) {
	d := xml.NewDecoder(bytes.NewReader(src))
	d.Strict = false
	d.Entity = xml.HTMLEntity
	st := &xmlState{}
	for {
		t, err := d.RawToken()
		if err == io.EOF {
			return st.out.Bytes(), st.sig, nil
		}
		if err != nil {
			return st.out.Bytes(), st.sig, nil
		}
		switch v := t.(type) {
		case xml.StartElement:
			if len(st.stack) >= maxDepth {
				return st.out.Bytes(), st.sig, ErrTooDeep
			}
			st.start(v)
		case xml.EndElement:
			st.end(v.Name.Local)
		case xml.CharData:
			st.chars(v)
		}
	}
}

func (st *xmlState) start(v xml.StartElement) {
	name := v.Name.Local
	st.stack = append(st.stack, name)
	switch name {
	case "recordTarget":
		st.inTarget = len(st.stack)
	case "name":
		if st.inTarget > 0 {
			st.inName = true
			st.name.Reset()
		}
	case "birthTime":
		if st.inTarget > 0 {
			if val := attr(v, "value"); len(val) >= 8 {
				st.out.WriteString("\nDate of birth: " + val[:8] + "\n")
			}
		}
	case "observation", "substanceAdministration", "procedure", "encounter":
		st.sig.CDAClinical++
	case "tab", "br":
		st.out.WriteByte('\t')
	}
	if dn := attr(v, "displayName"); dn != "" {
		st.out.WriteString(dn)
		st.out.WriteByte('\n')
	}
}

func (st *xmlState) end(name string) {
	if len(st.stack) > 0 {
		st.stack = st.stack[:len(st.stack)-1]
	}
	switch {
	case name == "recordTarget":
		st.inTarget = 0
	case name == "name" && st.inName:
		st.inName = false
		if st.name.Len() > 0 {
			st.sig.CDAPatient++
			st.out.WriteString("\nPatient: ")
			st.out.Write(bytes.TrimSpace(st.name.Bytes()))
			st.out.WriteString("\n")
		}
	}
	switch name {
	case "p", "tr", "row", "si", "title", "paragraph", "item", "li", "section", "entry", "td", "th", "tc", "c":
		st.out.WriteByte('\n')
	}
}

func (st *xmlState) chars(v xml.CharData) {
	if st.inName {
		if t := bytes.TrimSpace(v); len(t) > 0 {
			st.name.Write(t)
			st.name.WriteByte(' ')
		}
		return
	}
	if t := bytes.TrimSpace(v); len(t) > 0 {
		st.out.Write(t)
		st.out.WriteByte(' ')
	}
}

func attr(v xml.StartElement, key string) string {
	for _, a := range v.Attr {
		if strings.EqualFold(a.Name.Local, key) {
			return a.Value
		}
	}
	return ""
}
