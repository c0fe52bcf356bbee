package policy

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// A record for the wrong-charset tests: another patient than the other fail-closed
// tests, with no SSN, so that only the name, date, MRN and diagnosis are there to find.
const charsetRecord = "Patient: Doreen Vasquez-Hale\nDate of birth: 1961-07-22\nMRN 8830172\nDx: major depressive disorder, recurrent\n"

func textAttachment(ctype string, data []byte) mimePart {
	return attachmentPart(ctype, "record.txt", data)
}

func utf32LE(s string) []byte {
	var out []byte
	for _, r := range s {
		out = binary.LittleEndian.AppendUint32(out, uint32(r))
	}
	return out
}

// TestFailClosedWrongDeclaredCharset sends a text attachment whose declared charset is
// not the one its bytes are in. A mail client shows such a part as noise, so sealgate
// cannot read what is in it: each must end protected, never cleared.
func TestFailClosedWrongDeclaredCharset(t *testing.T) {
	ebcdic, err := charmap.CodePage037.NewEncoder().Bytes([]byte(charsetRecord))
	if err != nil {
		t.Fatal(err)
	}
	for name, part := range map[string]mimePart{
		"utf-32 without BOM declared latin-1": textAttachment("text/plain; charset=iso-8859-1", utf32LE(charsetRecord)),
		"EBCDIC declared utf-8":               textAttachment("text/plain; charset=utf-8", ebcdic),
		"EBCDIC with no charset":              textAttachment("text/plain", ebcdic),
		"8-bit text declared utf-16":          {ctype: "text/plain; charset=utf-16", data: []byte(charsetRecord)},
	} {
		t.Run(name, func(t *testing.T) {
			wantProtected(t, checkMsg(t, Config{}, mailWith(part)), "2", "")
		})
	}
}

// TestFailClosedWrongCharsetControls: Latin-1 accents in a part that says utf-8 (a
// common slip of mail programs) and UTF-32 that says so are read, not refused.
func TestFailClosedWrongCharsetControls(t *testing.T) {
	latin1, _ := charmap.ISO8859_1.NewEncoder().Bytes([]byte("Réunion du comité à 10 h, salle B2. Apportez le café.\n"))
	if utf8.Valid(latin1) {
		t.Fatal("control text is valid UTF-8")
	}
	wantClean(t, checkMsg(t, Config{}, mailWith(mimePart{ctype: "text/plain; charset=utf-8", data: latin1})))
	bom := append([]byte("\xff\xfe\x00\x00"), utf32LE(cleanText)...)
	wantClean(t, checkMsg(t, Config{}, mailWith(textAttachment("text/plain", bom))))
	// UTF-32 without a byte order mark is read as what it is.
	v := checkMsg(t, Config{}, mailWith(textAttachment("text/plain", utf32LE(phiRecord))))
	wantRead(t, v, "2")
}

// TestFailClosedBinaryNamedText: an archive member named .txt that holds bytes no
// editor shows as text is unreadable, not read as noise and cleared.
func TestFailClosedBinaryNamedText(t *testing.T) {
	noise := make([]byte, 96)
	for i := range noise {
		noise[i] = byte(i*67 + 13) // every byte value class, controls among them
	}
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, _ := zw.Create("records/notes.txt")
	w.Write(noise)
	zw.Close()
	wantProtected(t, checkMsg(t, Config{}, mailWith(attachmentPart("application/zip", "notes.zip", b.Bytes()))), "2", "")
	wantProtected(t, checkMsg(t, Config{}, mailWith(textAttachment("text/plain", noise))), "2", "")
}
