package policy

import (
	"encoding/base64"
	"strings"
	"testing"
)

// uuencode writes data as a uuencoded block ("begin 644 name" ... "end"), as old mail
// programs put a file inside a text body and as Thunderbird and Outlook still show it:
// as an attachment.
func uuencode(name string, data []byte) string {
	var b strings.Builder
	b.WriteString("begin 644 " + name + "\r\n")
	enc := func(c byte) byte {
		if c == 0 {
			return '`'
		}
		return c + 32
	}
	for len(data) > 0 {
		n := min(len(data), 45)
		line, rest := data[:n], data[n:]
		b.WriteByte(enc(byte(n)))
		for len(line) > 0 {
			var g [3]byte
			copy(g[:], line)
			b.WriteByte(enc(g[0] >> 2))
			b.WriteByte(enc((g[0]<<4 | g[1]>>4) & 63))
			b.WriteByte(enc((g[1]<<2 | g[2]>>6) & 63))
			b.WriteByte(enc(g[2] & 63))
			line = line[min(len(line), 3):]
		}
		b.WriteString("\r\n")
		data = rest
	}
	b.WriteString("`\r\nend\r\n")
	return b.String()
}

func textBody(body string) []byte {
	return []byte("From: Ops <ops@northfield.example>\r\nTo: vendor@partner.example\r\nSubject: File\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nThe file you asked for:\r\n\r\n" + body)
}

// TestFailClosedInlineUUEncode: a file uuencoded inside a text body is read as the
// attachment a mail client shows; one that does not decode is unreadable.
func TestFailClosedInlineUUEncode(t *testing.T) {
	v := checkMsg(t, Config{}, textBody(uuencode("records.csv", []byte(phiCSV))))
	wantRead(t, v, "1")
	wantClean(t, checkMsg(t, Config{}, textBody(uuencode("order.csv", []byte(cleanCSV)))))
	// A block whose code is damaged (a character outside it, a line cut short), or
	// whose first line is not code at all, does not decode.
	block := uuencode("records.csv", []byte(phiCSV))
	for _, broken := range []string{
		strings.Replace(block, "\r\n", "\r\n~~~~\r\n", 1),
		block[:len(block)/2] + "~" + block[len(block)/2+1:],
		strings.Replace(block, "`\r\nend\r\n", "", 1),
	} {
		wantProtected(t, checkMsg(t, Config{}, textBody(broken)), "1", "decode_error")
	}
	// The words "begin" and "end" in prose are not a block.
	wantClean(t, checkMsg(t, Config{}, textBody("begin 644 is not how we start meetings; the end.\r\n")))
}

// TestFailClosedMessagePartial: one fragment of a message split by message/partial
// (RFC 2046 §5.2.2) cannot be read whole, so it cannot be cleared.
func TestFailClosedMessagePartial(t *testing.T) {
	frag := "Subject: records\r\nContent-Type: text/csv\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		base64.StdEncoding.EncodeToString([]byte(phiCSV))[:40]
	v := checkMsg(t, Config{}, mailWith(mimePart{ctype: "message/partial; id=\"r1@northfield.example\"; number=1; total=2", data: []byte(frag)}))
	wantProtected(t, v, "2", "unsupported_format")
}

// TestFailClosedConflictingFields: a part with two Content-Transfer-Encoding (or
// Content-Type, or Content-Disposition) fields that disagree is read one way by some mail
// clients and the other way by others, so which one the policy read cannot clear it.
func TestFailClosedConflictingFields(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString([]byte(charsetRecord))
	head := "From: Ops <ops@northfield.example>\r\nTo: vendor@partner.example\r\nSubject: File\r\nMIME-Version: 1.0\r\n"
	for name, msg := range map[string]string{
		"transfer encodings": head + "Content-Type: text/plain\r\nContent-Transfer-Encoding: 7bit\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b64 + "\r\n",
		"content types":      head + "Content-Type: text/plain; charset=utf-8\r\nContent-Type: text/plain; charset=utf-7\r\n\r\nPizza at noon.\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			wantProtected(t, checkMsg(t, Config{}, []byte(msg)), "1", "mime_structure")
		})
	}
	// The same field twice with the same value is no conflict.
	same := head + "Content-Type: text/plain\r\nContent-Transfer-Encoding: 7bit\r\nContent-Transfer-Encoding: 7BIT\r\n\r\nPizza at noon.\r\n"
	wantClean(t, checkMsg(t, Config{}, []byte(same)))
}

// wrapBase64 encodes data as base64 in lines of width characters, as base64(1) (76)
// or OpenSSL (64) write it; width 0 writes one line.
func wrapBase64(data []byte, width int) string {
	enc := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	for width > 0 && len(enc) > width {
		b.WriteString(enc[:width] + "\r\n")
		enc = enc[width:]
	}
	return b.String() + enc + "\r\n"
}

// patientsCSV is a list of patients as a script exports it: several rows, so that its
// base64 is the length of a file, not of a word.
const patientsCSV = phiCSV + "Omar Feliz,07/30/1971,5581204,SSN 078-05-1121,major depressive disorder\n" +
	"Ruth Okafor,11/02/1949,6612093,SSN 123-45-6789,congestive heart failure\n"

// neutralText is an order list of the same length, without PHI.
const neutralText = cleanCSV + "toner cartridges,6,B4\nlabel rolls,20,B5\nfolders,50,B6\nbinder clips,200,B7\n" +
	"whiteboard markers,24,B8\nhand soap refills,10,B9\nshipping boxes,15,C1\npackaging tape,30,C2\n" +
	"envelopes,500,C3\nsticky notes,40,C4\n"

// TestFailClosedInlineBase64: a file pasted into a text body as base64, wrapped or on
// one line, is decoded and read like an attachment; a run that does not decode, or
// decodes to bytes nothing reads, is unreadable; words, tokens and PGP armor are not
// files.
func TestFailClosedInlineBase64(t *testing.T) {
	for _, width := range []int{76, 64, 0} {
		v := checkMsg(t, Config{}, textBody(wrapBase64([]byte(patientsCSV), width)))
		wantRead(t, v, "1")
		clean := checkMsg(t, Config{}, textBody(wrapBase64([]byte(neutralText), width)))
		wantClean(t, clean)
		if clean.PHI {
			t.Errorf("width %d: a neutral order list pasted as base64 found PHI: %+v", width, clean.Reasons)
		}
	}
	// Binary nothing reads (a 7z archive), and a run whose padding sits in its middle.
	sevenZ := append([]byte("7z\xbc\xaf\x27\x1c\x00\x04"), []byte(strings.Repeat("\x91\x07\xee\x13", 80))...)
	wantProtected(t, checkMsg(t, Config{}, textBody(wrapBase64(sevenZ, 76))), "1", "unsupported_format")
	bad := wrapBase64([]byte(neutralText), 76)
	bad = bad[:100] + "==" + bad[102:]
	wantProtected(t, checkMsg(t, Config{}, textBody(bad)), "1", "decode_error")
	// Not files: a short base64 string in a sentence, a DKIM-Signature pasted from a
	// header (folded, indented), a long URL, and a PGP message (already encrypted).
	sig := "DKIM-Signature: v=1; a=rsa-sha256; d=northfield.example; s=sel1;\r\n" +
		"\th=from:to:subject; bh=" + base64.StdEncoding.EncodeToString([]byte(strings.Repeat("h", 32))) + ";\r\n" +
		"\tb=" + strings.TrimRight(strings.ReplaceAll(wrapBase64([]byte(strings.Repeat("\xa7\x19s\x80", 64)), 70), "\r\n", "\r\n\t "), "\t ") + "\r\n"
	pgp := "-----BEGIN PGP MESSAGE-----\r\n\r\n" + wrapBase64([]byte(strings.Repeat("\x85\x02\x0c\x03\x91", 120)), 64) +
		"=njUN\r\n-----END PGP MESSAGE-----\r\n"
	for _, body := range []string{
		"Your reset code is " + base64.StdEncoding.EncodeToString([]byte("order 7731 for room B2")) + " and expires today.\r\n",
		sig,
		"See https://portal.northfield.example/reports/2026/q3/summary?session=" + strings.Repeat("Ab3x", 40) + "&lang=en\r\n",
		pgp,
	} {
		v := checkMsg(t, Config{}, textBody(body))
		wantClean(t, v)
		if v.PHI {
			t.Errorf("%.40q: found PHI: %+v", body, v.Reasons)
		}
	}
}

// TestFailClosedInlineBinHex: a file in BinHex 4.0 inside a text body is unreadable:
// no library here reads BinHex.
func TestFailClosedInlineBinHex(t *testing.T) {
	body := "(This file must be converted with BinHex 4.0)\r\n" +
		":$f*TEQKPH#jdCA0d,R0TG!\"6594%8dP8)3#3\"!&m!*!%EMa6593K!!%!!!&mFNa\r\n" +
		"KG3,r!*!$&[rr$3d,BQPZD'9i,R4PFh3!RQ+!!\"AV#J#3!i!!N!@QKUjrU!#3'[q\r\n:\r\n"
	wantProtected(t, checkMsg(t, Config{}, textBody(body)), "1", "unsupported_format")
	wantClean(t, checkMsg(t, Config{}, textBody("We converted the old BinHex archives last year.\r\n")))
}

// TestFailClosedInlineMedia: an image decoded from a text body (uuencoded, or pasted as
// base64) is media, never decoration: a scan of a chart cannot be read.
func TestFailClosedInlineMedia(t *testing.T) {
	png := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\x00\x00\x01\x00\x08\x02\x00\x00\x00"),
		[]byte(strings.Repeat("\x13\x7f\xa0\x42", 100))...)
	wantProtected(t, checkMsg(t, Config{}, textBody(uuencode("chart.png", png))), "1", "media")
	wantProtected(t, checkMsg(t, Config{}, textBody(wrapBase64(png, 76))), "1", "media")
}
