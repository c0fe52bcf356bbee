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
