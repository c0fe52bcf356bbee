package extract

import (
	"bytes"
	"errors"
)

// ErrUUEncode reports a uuencoded block that does not decode: a line of characters
// outside the code, or no "end" line.
var ErrUUEncode = errors.New("extract: uuencoded block does not decode")

// UUFile is a file uuencoded inside a text: its name and content, or why it does not
// decode.
type UUFile struct {
	Name string
	Data []byte
	Err  error
}

// UUFiles finds the files uuencoded inside text ("begin 644 name", lines of the code,
// "end"), as old mail programs put them in a body and as Thunderbird and Outlook still
// show them: as attachments. It decodes at most limit bytes in all; the rest of a block
// past it is an error.
func UUFiles(text []byte, limit int64) []UUFile {
	if !bytes.Contains(text, []byte("begin ")) {
		return nil
	}
	var files []UUFile
	for len(text) > 0 {
		var line []byte
		line, text = nextLine(text)
		name, ok := uuBegin(line)
		if first, _ := nextLine(text); !ok || !(uuLine(first) || fileName(name)) {
			continue // "begin 644 is how ..." in prose: no file and no line of the code
		}
		f := UUFile{Name: name}
		f.Data, text, f.Err = uuBody(text, limit)
		limit -= int64(len(f.Data))
		files = append(files, f)
	}
	return files
}

func nextLine(text []byte) (line, rest []byte) {
	k := bytes.IndexByte(text, '\n')
	if k < 0 {
		return bytes.TrimRight(text, "\r"), nil
	}
	return bytes.TrimRight(text[:k], "\r"), text[k+1:]
}

// uuBegin reads "begin MODE NAME": three or four octal digits, then a name.
func uuBegin(line []byte) (string, bool) {
	rest, ok := bytes.CutPrefix(line, []byte("begin "))
	if !ok {
		return "", false
	}
	mode, name, ok := bytes.Cut(rest, []byte(" "))
	if !ok || len(mode) < 3 || len(mode) > 4 || len(bytes.TrimSpace(name)) == 0 {
		return "", false
	}
	for _, c := range mode {
		if c < '0' || c > '7' {
			return "", false
		}
	}
	return string(bytes.TrimSpace(name)), true
}

// uuBody decodes the lines of one block up to its "end" line and returns the rest of
// the text after it.
func uuBody(text []byte, limit int64) ([]byte, []byte, error) {
	var out []byte
	for len(text) > 0 {
		var line []byte
		line, text = nextLine(text)
		if string(line) == "end" {
			return out, text, nil
		}
		if len(line) == 0 {
			continue
		}
		n := int(uuChar(line[0]))
		if n < 0 || n > 45 {
			return out, text, ErrUUEncode
		}
		if int64(len(out)+n) > limit {
			return out, text, ErrTooLarge
		}
		body := line[1:]
		if len(body) < (n+2)/3*4 {
			return out, text, ErrUUEncode
		}
		var dec [3]byte
		for g := 0; g*3 < n; g++ {
			var q [4]int8
			for k := range q {
				if q[k] = uuChar(body[4*g+k]); q[k] < 0 {
					return out, text, ErrUUEncode
				}
			}
			dec[0] = byte(q[0])<<2 | byte(q[1])>>4
			dec[1] = byte(q[1])<<4 | byte(q[2])>>2
			dec[2] = byte(q[2])<<6 | byte(q[3])
			out = append(out, dec[:min(3, n-3*g)]...)
		}
	}
	return out, nil, ErrUUEncode
}

// fileName reports whether name is one word with an extension ("labs.csv").
func fileName(name string) bool {
	return !bytes.ContainsAny([]byte(name), " \t") && bytes.IndexByte([]byte(name), '.') > 0
}

// uuLine reports whether line is one line of the code: its length character, then
// enough characters of the code for that length.
func uuLine(line []byte) bool {
	if len(line) == 0 {
		return false
	}
	n := int(uuChar(line[0]))
	if n < 0 || n > 45 || len(line)-1 < (n+2)/3*4 {
		return false
	}
	for _, c := range line[1 : 1+(n+2)/3*4] {
		if uuChar(c) < 0 {
			return false
		}
	}
	return true
}

// uuChar is the six-bit value of one character of the code, or -1 for a character
// outside it.
func uuChar(c byte) int8 {
	if c < 0x20 || c > 0x60 {
		return -1
	}
	return int8((c - 0x20) & 63)
}
