package policy

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"
)

// The fail-closed tests send real RFC 5322 messages: a neutral body ("Please see the
// attached file.") and the patient's data only inside the shape under test. Each shape
// must end protected: either the policy read the content (the SSN detector fires on
// the attachment's part) or it marked the part unreadable with the expected reason.
// Each readable shape has a clean control in the same container, so that marking
// everything unreadable cannot pass.

// phiRecord is a patient's record: name, date of birth, MRN, SSN and a diagnosis.
const phiRecord = "Patient: Ilse Aldana\nDOB: 02/13/1958\nMRN: 4471823\nSSN 219-09-9999\nDiagnosis: type 2 diabetes mellitus\n"

// phiCSV is the same record as a spreadsheet export.
const phiCSV = "patient,dob,mrn,ssn,diagnosis\nIlse Aldana,02/13/1958,4471823,SSN 219-09-9999,type 2 diabetes mellitus\n"

// cleanCSV is a spreadsheet without PHI.
const cleanCSV = "item,quantity,room\nprinter paper,12,B2\nstaples,4,B3\n"

// cleanText is a text without PHI.
const cleanText = "The quarterly supply order is attached. Printer paper and staples for rooms B2 and B3.\n"

// mimePart is one part of a test message.
type mimePart struct {
	ctype, disp, name, cid, cte string
	data                        []byte
}

// attachmentPart is a base64 attachment.
func attachmentPart(ctype, name string, data []byte) mimePart {
	return mimePart{ctype: ctype, disp: "attachment", name: name, cte: "base64", data: data}
}

// mailWith builds a multipart/mixed message whose first part is a neutral text body and
// whose further parts are parts (part paths "2", "3", ...).
func mailWith(parts ...mimePart) []byte {
	var b strings.Builder
	b.WriteString("From: Front Desk <desk@clinic.example>\r\nTo: billing@vendor.example\r\n" +
		"Subject: File for you\r\nDate: Mon, 02 Mar 2026 10:00:00 +0000\r\nMessage-ID: <fc@clinic.example>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"fcB\"\r\n\r\n" +
		"--fcB\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPlease see the attached file.\r\n")
	for _, p := range parts {
		writePart(&b, "fcB", p)
	}
	b.WriteString("--fcB--\r\n")
	return []byte(b.String())
}

func writePart(b *strings.Builder, boundary string, p mimePart) {
	fmt.Fprintf(b, "--%s\r\nContent-Type: %s", boundary, p.ctype)
	if p.name != "" && p.disp == "" {
		fmt.Fprintf(b, "; name=\"%s\"", p.name)
	}
	b.WriteString("\r\n")
	switch {
	case p.disp != "" && p.name != "":
		fmt.Fprintf(b, "Content-Disposition: %s; filename=\"%s\"\r\n", p.disp, p.name)
	case p.disp != "":
		fmt.Fprintf(b, "Content-Disposition: %s\r\n", p.disp)
	}
	if p.cid != "" {
		fmt.Fprintf(b, "Content-ID: <%s>\r\n", p.cid)
	}
	if p.cte == "base64" {
		b.WriteString("Content-Transfer-Encoding: base64\r\n\r\n")
		enc := base64.StdEncoding.EncodeToString(p.data)
		for len(enc) > 76 {
			b.WriteString(enc[:76] + "\r\n")
			enc = enc[76:]
		}
		b.WriteString(enc + "\r\n")
		return
	}
	if p.cte != "" {
		fmt.Fprintf(b, "Content-Transfer-Encoding: %s\r\n", p.cte)
	}
	b.WriteString("\r\n")
	b.Write(p.data)
	b.WriteString("\r\n")
}

func failClosedEngine(t testing.TB, cfg Config) *Engine {
	t.Helper()
	eng, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return eng
}

func checkMsg(t *testing.T, cfg Config, msg []byte) Verdict {
	t.Helper()
	v, err := failClosedEngine(t, cfg).Check(context.Background(), msg, Input{})
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	return v
}

// wantProtected asserts the verdict is protected and, if reason is not empty, that
// part carries "unreadable_<reason>".
func wantProtected(t *testing.T, v Verdict, part, reason string) {
	t.Helper()
	if !(v.PHI || v.Unreadable) || v.Action != ActionEncrypt {
		t.Errorf("verdict %+v: want protected (PHI or unreadable) and encrypt", v)
	}
	if reason != "" && !hasReason(v, "unreadable_"+reason, part) {
		t.Errorf("reasons %+v: want unreadable_%s on part %s", v.Reasons, reason, part)
	}
}

// wantRead asserts the SSN inside part was read: the us_ssn detector fired on it.
func wantRead(t *testing.T, v Verdict, part string) {
	t.Helper()
	if !hasReason(v, "us_ssn", part) {
		t.Errorf("reasons %+v: the SSN in part %s was not read", v.Reasons, part)
	}
	if v.Action != ActionEncrypt {
		t.Errorf("action %q, want encrypt", v.Action)
	}
}

// wantClean asserts a control message has nothing unreadable.
func wantClean(t *testing.T, v Verdict) {
	t.Helper()
	if v.Unreadable {
		t.Errorf("clean control marked unreadable: %+v", v.Reasons)
	}
}

func hasReason(v Verdict, detector, part string) bool {
	for _, r := range v.Reasons {
		if r.Detector == detector && (part == "" || r.Part == part) {
			return true
		}
	}
	return false
}

func gzipped(t testing.TB, name string, data []byte) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Name = name
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func tarred(t testing.TB, files ...string) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for i := 0; i+1 < len(files); i += 2 {
		if err := tw.WriteHeader(&tar.Header{Name: files[i], Mode: 0o644, Size: int64(len(files[i+1])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(files[i+1]))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// utf16LE encodes s as Excel's "Unicode text" does, optionally with a byte order mark.
func utf16LE(s string, bom bool) []byte {
	var out []byte
	if bom {
		out = append(out, 0xff, 0xfe)
	}
	for _, u := range utf16.Encode([]rune(s)) {
		out = append(out, byte(u), byte(u>>8))
	}
	return out
}

// asciiHexPDF is a one-page PDF whose content stream is ASCIIHex-encoded.
func asciiHexPDF(text string) []byte {
	var content strings.Builder
	content.WriteString("BT /F1 11 Tf 72 720 Td\n")
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		fmt.Fprintf(&content, "(%s) Tj 0 -14 Td\n", line)
	}
	content.WriteString("ET\n")
	hex := fmt.Sprintf("%X>", content.String())
	return []byte(fmt.Sprintf("%%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"+
		"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n"+
		"3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>\nendobj\n"+
		"4 0 obj\n<< /Length %d /Filter /ASCIIHexDecode >>\nstream\n%s\nendstream\nendobj\n"+
		"5 0 obj\n<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>\nendobj\n"+
		"trailer\n<< /Root 1 0 R >>\n%%%%EOF\n", len(hex), hex))
}

func htmlPart(html string) mimePart {
	return mimePart{ctype: "text/html; charset=utf-8", data: []byte(html)}
}

func TestFailClosedGzipCSV(t *testing.T) {
	v := checkMsg(t, Config{}, mailWith(attachmentPart("application/gzip", "labs.csv.gz", gzipped(t, "labs.csv", []byte(phiCSV)))))
	wantRead(t, v, "2")
	wantClean(t, checkMsg(t, Config{}, mailWith(attachmentPart("application/gzip", "order.csv.gz", gzipped(t, "order.csv", []byte(cleanCSV))))))
}

func TestFailClosedTarGz(t *testing.T) {
	tgz := gzipped(t, "", tarred(t, "export/readme.txt", cleanText, "export/labs.csv", phiCSV))
	wantRead(t, checkMsg(t, Config{}, mailWith(attachmentPart("application/octet-stream", "export.tgz", tgz))), "2")
	clean := gzipped(t, "", tarred(t, "export/readme.txt", cleanText))
	wantClean(t, checkMsg(t, Config{}, mailWith(attachmentPart("application/octet-stream", "export.tgz", clean))))
}

func TestFailClosed7z(t *testing.T) {
	data := append([]byte("7z\xbc\xaf\x27\x1c\x00\x04"), []byte(phiRecord)...)
	v := checkMsg(t, Config{}, mailWith(attachmentPart("application/x-7z-compressed", "records.7z", data)))
	wantProtected(t, v, "2", "unsupported_format")
}

func TestFailClosedTNEF(t *testing.T) {
	data := append([]byte("\x78\x9f\x3e\x22\x01\x00\x01\x06\x90\x08\x00"), []byte(phiRecord)...)
	v := checkMsg(t, Config{}, mailWith(attachmentPart("application/ms-tnef", "winmail.dat", data)))
	wantProtected(t, v, "2", "unsupported_format")
}

func TestFailClosedUTF16CSV(t *testing.T) {
	for _, bom := range []bool{true, false} {
		t.Run(fmt.Sprintf("bom=%v", bom), func(t *testing.T) {
			data := utf16LE(strings.ReplaceAll(phiCSV, ",", "\t"), bom)
			wantRead(t, checkMsg(t, Config{}, mailWith(attachmentPart("application/vnd.ms-excel", "labs.csv", data))), "2")
			clean := utf16LE(strings.ReplaceAll(cleanCSV, ",", "\t"), bom)
			wantClean(t, checkMsg(t, Config{}, mailWith(attachmentPart("application/vnd.ms-excel", "order.csv", clean))))
		})
	}
}

func TestFailClosedCSVDeclaredAsImage(t *testing.T) {
	v := checkMsg(t, Config{}, mailWith(attachmentPart("image/png", "chart.png", []byte(phiCSV))))
	wantRead(t, v, "2")
	wantProtected(t, v, "2", "type_mismatch")
}

func TestFailClosedUTF7Text(t *testing.T) {
	// "+AEA-" and friends: UTF-7 is not decoded by go-message, so the part is unreadable
	// even though its bytes are ASCII.
	msg := mailWith(mimePart{ctype: "text/plain; charset=utf-7", data: []byte("Patient: Ilse Aldana +AC0- DOB 02+AC8-13+AC8-1958 +AC0- diabetes")})
	wantProtected(t, checkMsg(t, Config{}, msg), "2", "charset")
}

func TestFailClosedPDFASCIIHex(t *testing.T) {
	wantRead(t, checkMsg(t, Config{}, mailWith(attachmentPart("application/pdf", "labs.pdf", asciiHexPDF(phiRecord)))), "2")
	wantClean(t, checkMsg(t, Config{}, mailWith(attachmentPart("application/pdf", "order.pdf", asciiHexPDF(cleanText)))))
}

func TestFailClosedPDFScan(t *testing.T) {
	scan := []byte("%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n" +
		"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n" +
		"3 0 obj\n<< /Type /Page /Parent 2 0 R /Resources << /XObject << /Im1 5 0 R >> >> /Contents 4 0 R >>\nendobj\n" +
		"4 0 obj\n<< /Length 30 >>\nstream\nq 612 0 0 792 0 0 cm /Im1 Do Q\nendstream\nendobj\n" +
		"5 0 obj\n<< /Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /DCTDecode /Length 4 >>\nstream\n\xff\xd8\xff\xd9\nendstream\nendobj\n" +
		"trailer\n<< /Root 1 0 R >>\n%%EOF\n")
	wantProtected(t, checkMsg(t, Config{}, mailWith(attachmentPart("application/pdf", "scan.pdf", scan))), "2", "no_text_layer")
}

func TestFailClosedHTMLWithoutHeadEnd(t *testing.T) {
	page := "<html><head><title>Results</title><meta charset=utf-8><body><p>" + strings.ReplaceAll(phiRecord, "\n", "<br>") + "</p></body></html>"
	wantRead(t, checkMsg(t, Config{}, mailWith(htmlPart(page))), "2")
	wantClean(t, checkMsg(t, Config{}, mailWith(htmlPart("<html><head><title>Order</title><body><p>"+cleanText+"</p></body></html>"))))
}

func TestFailClosedHTMLAbruptComment(t *testing.T) {
	page := "<html><body><!--><p>" + strings.ReplaceAll(phiRecord, "\n", "<br>") + "</p><!-- a comment --></body></html>"
	v := checkMsg(t, Config{}, mailWith(htmlPart(page)))
	wantRead(t, v, "2")
	wantClean(t, checkMsg(t, Config{}, mailWith(htmlPart("<html><body><!--><p>"+cleanText+"</p></body></html>"))))
}

func TestFailClosedHTMLNoscript(t *testing.T) {
	page := "<html><body><p>Your statement is ready.</p><noscript><div>" + strings.ReplaceAll(phiRecord, "\n", "<br>") + "</div></noscript></body></html>"
	wantRead(t, checkMsg(t, Config{}, mailWith(htmlPart(page))), "2")
	wantClean(t, checkMsg(t, Config{}, mailWith(htmlPart("<html><body><noscript><div>"+cleanText+"</div></noscript></body></html>"))))
}

func TestFailClosedRTF(t *testing.T) {
	rtf := `{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0 Calibri;}}{\colortbl;\red0\green0\blue0;}` +
		strings.ReplaceAll(phiRecord, "\n", `\par `) + `}`
	wantRead(t, checkMsg(t, Config{}, mailWith(attachmentPart("application/rtf", "letter.rtf", []byte(rtf)))), "2")
	clean := `{\rtf1\ansi{\fonttbl{\f0 Calibri;}}` + cleanText + `\par}`
	wantClean(t, checkMsg(t, Config{}, mailWith(attachmentPart("application/rtf", "order.rtf", []byte(clean)))))
}

func TestFailClosedLegacyOffice(t *testing.T) {
	ole := append([]byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"), bytes.Repeat([]byte{0}, 504)...)
	v := checkMsg(t, Config{}, mailWith(attachmentPart("application/msword", "letter.doc", ole)))
	wantProtected(t, v, "2", "unsupported_format")
}

func TestFailClosedUnknownBinary(t *testing.T) {
	v := checkMsg(t, Config{}, mailWith(attachmentPart("application/octet-stream", "export.bin", []byte("\x00\x01\x02\x03\x04\x05\x06\x07\x08"))))
	wantProtected(t, v, "2", "unsupported_format")
}

// TestFailClosedFiles checks the messages kept in testdata/failclosed: "phi-*.eml" must
// end protected, "clean-*.eml" must have nothing unreadable. SEALGATE_WRITE_FAILCLOSED=1
// writes them again from the builders above.
func TestFailClosedFiles(t *testing.T) {
	dir := filepath.Join("testdata", "failclosed")
	if os.Getenv("SEALGATE_WRITE_FAILCLOSED") == "1" {
		writeFailClosedFiles(t, dir)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	if len(files) == 0 {
		t.Fatal("no messages in testdata/failclosed")
	}
	for _, f := range files {
		msg, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			v := checkMsg(t, Config{}, msg)
			if strings.HasPrefix(name, "clean-") {
				wantClean(t, v)
				return
			}
			wantProtected(t, v, "", "")
		})
	}
}

func writeFailClosedFiles(t *testing.T, dir string) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"phi-gzip-csv.eml":       mailWith(attachmentPart("application/gzip", "labs.csv.gz", gzipped(t, "labs.csv", []byte(phiCSV)))),
		"phi-7z.eml":             mailWith(attachmentPart("application/x-7z-compressed", "records.7z", append([]byte("7z\xbc\xaf\x27\x1c\x00\x04"), phiRecord...))),
		"phi-tnef.eml":           mailWith(attachmentPart("application/ms-tnef", "winmail.dat", append([]byte("\x78\x9f\x3e\x22\x01\x00"), phiRecord...))),
		"phi-utf16-csv.eml":      mailWith(attachmentPart("application/vnd.ms-excel", "labs.csv", utf16LE(phiCSV, true))),
		"phi-utf16-nobom.eml":    mailWith(attachmentPart("text/csv", "labs.csv", utf16LE(phiCSV, false))),
		"phi-csv-as-png.eml":     mailWith(attachmentPart("image/png", "chart.png", []byte(phiCSV))),
		"phi-png-scan.eml":       mailWith(attachmentPart("image/png", "scan.png", testPNG(t, 200, 200))),
		"phi-utf7.eml":           mailWith(mimePart{ctype: "text/plain; charset=utf-7", data: []byte("Patient: Ilse Aldana +AC0- diabetes")}),
		"phi-pdf-asciihex.eml":   mailWith(attachmentPart("application/pdf", "labs.pdf", asciiHexPDF(phiRecord))),
		"phi-html-nohead.eml":    mailWith(htmlPart("<html><head><title>R</title><body><p>" + strings.ReplaceAll(phiRecord, "\n", "<br>") + "</p>")),
		"phi-html-abrupt.eml":    mailWith(htmlPart("<body><!--><p>" + strings.ReplaceAll(phiRecord, "\n", "<br>") + "</p>")),
		"phi-html-noscript.eml":  mailWith(htmlPart("<body><noscript><div>" + strings.ReplaceAll(phiRecord, "\n", "<br>") + "</div></noscript>")),
		"clean-gzip-csv.eml":     mailWith(attachmentPart("application/gzip", "order.csv.gz", gzipped(t, "order.csv", []byte(cleanCSV)))),
		"clean-utf16-csv.eml":    mailWith(attachmentPart("application/vnd.ms-excel", "order.csv", utf16LE(cleanCSV, true))),
		"clean-pdf-asciihex.eml": mailWith(attachmentPart("application/pdf", "order.pdf", asciiHexPDF(cleanText))),
		"clean-logo.eml":         decorationMail(t, testPNG(t, 16, 16), "inline", true),
	}
	for name, msg := range files {
		if err := os.WriteFile(filepath.Join(dir, name), msg, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFailClosedFakeSignature(t *testing.T) {
	// A spreadsheet labelled as a detached signature is read, not skipped.
	msg := mailWith(mimePart{ctype: "application/pgp-signature", name: "sig.asc", data: []byte(phiCSV)})
	wantRead(t, checkMsg(t, Config{}, msg), "2")
	sig := "-----BEGIN PGP SIGNATURE-----\r\n\r\niQEzBAEBCAAdFiEE\r\n=abcd\r\n-----END PGP SIGNATURE-----"
	wantClean(t, checkMsg(t, Config{}, mailWith(mimePart{ctype: "application/pgp-signature", data: []byte(sig)})))
}

func TestFailClosedForwardWithoutEMLName(t *testing.T) {
	// A whole message attached as a nameless octet-stream: its PDF is decoded and read,
	// not seen as base64 text.
	inner := mailWith(attachmentPart("application/pdf", "labs.pdf", asciiHexPDF(phiRecord)))
	v := checkMsg(t, Config{}, mailWith(attachmentPart("application/octet-stream", "forwarded", inner)))
	if !hasReason(v, "us_ssn", "") || v.Action != ActionEncrypt {
		t.Errorf("reasons %+v: the PDF inside the forwarded message was not read", v.Reasons)
	}
}
