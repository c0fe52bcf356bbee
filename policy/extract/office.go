package extract

import (
	"bytes"
	"html"
)

// OfficeXML returns the text of a part of an Office Open XML or OpenDocument package
// (word/document.xml, xl/sharedStrings.xml, ppt/slides/*.xml, content.xml). Character
// data is joined as written, since Word splits words across runs; paragraphs and rows
// end lines, cells and tabs become tabs, and character references are decoded. It is a
// single pass without a parser: these documents carry no patient structure to follow.
func OfficeXML(src []byte) []byte {
	out := make([]byte, 0, len(src)/4)
	for i := 0; i < len(src); {
		j := bytes.IndexByte(src[i:], '<')
		if j < 0 {
			j = len(src) - i
		}
		out = appendUnescaped(out, src[i:i+j])
		i += j
		if i >= len(src) {
			break
		}
		end := bytes.IndexByte(src[i:], '>')
		if end < 0 {
			break
		}
		out = officeSeparator(out, src[i+1:i+end])
		i += end + 1
	}
	return out
}

func appendUnescaped(out, run []byte) []byte {
	if len(run) == 0 {
		return out
	}
	if bytes.IndexByte(run, '&') >= 0 {
		return append(out, html.UnescapeString(string(run))...)
	}
	return append(out, run...)
}

// officeSeparator appends the separator a tag stands for, given the tag's inside.
func officeSeparator(out, tag []byte) []byte {
	closing := len(tag) > 0 && tag[0] == '/'
	selfClosing := len(tag) > 0 && tag[len(tag)-1] == '/'
	name := tag
	if closing {
		name = name[1:]
	}
	if k := bytes.IndexAny(name, " \t\r\n/"); k >= 0 {
		name = name[:k]
	}
	if k := bytes.IndexByte(name, ':'); k >= 0 {
		name = name[k+1:]
	}
	switch string(name) {
	case "p", "tr", "row", "si", "h":
		if closing {
			return append(out, '\n')
		}
	case "br", "cr":
		if selfClosing || !closing {
			return append(out, '\n')
		}
	case "tab", "tc", "c", "table-cell", "s":
		if closing || selfClosing {
			return append(out, '\t')
		}
	}
	return out
}
