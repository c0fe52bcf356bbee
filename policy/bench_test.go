package policy

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sealgate/sealgate/internal/testenv"
)

// typicalBody is ordinary business prose with a few numbers, names and clinical words.
const typicalBody = "Hi Jordan, thanks for the update on the quarterly review. The clinic volumes " +
	"look steady and the new scheduling workflow saved about 2 hours per week. Please send " +
	"the revised budget by Friday, 10/14, and copy Priya on the vendor contract (ref 4471-22). " +
	"We still need to finish the training plan for the front desk and the parking update.\n"

func benchMessage(body string, attachments [][2]string) []byte {
	var b bytes.Buffer
	b.WriteString("From: Dana Kim <dana@clinic.example>\r\nTo: Jordan Lee <jordan@clinic.example>\r\n")
	b.WriteString("Subject: Quarterly review\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n")
	b.WriteString("--B\r\nContent-Type: multipart/alternative; boundary=\"A\"\r\n\r\n--A\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	b.WriteString(body)
	b.WriteString("\r\n--A\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<html><body>")
	for _, line := range strings.SplitAfter(body, "\n") {
		b.WriteString("<p>" + strings.TrimSpace(line) + "</p>\r\n")
	}
	b.WriteString("</body></html>\r\n--A--\r\n")
	for _, a := range attachments {
		b.WriteString("--B\r\nContent-Type: " + a[0] + "\r\nContent-Transfer-Encoding: base64\r\n\r\n")
		enc := base64.StdEncoding.EncodeToString([]byte(a[1]))
		for len(enc) > 76 {
			b.WriteString(enc[:76] + "\r\n")
			enc = enc[76:]
		}
		b.WriteString(enc + "\r\n")
	}
	b.WriteString("--B--\r\n")
	return b.Bytes()
}

func repeatTo(s string, n int) string { return strings.Repeat(s, n/len(s)+1)[:n] }

func docxOf(text string) string {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, _ := zw.Create("word/document.xml")
	fmt.Fprintf(w, "<w:document><w:body>")
	for _, line := range strings.SplitAfter(text, "\n") {
		fmt.Fprintf(w, "<w:p><w:r><w:t>%s</w:t></w:r></w:p>", strings.TrimSpace(line))
	}
	fmt.Fprintf(w, "</w:body></w:document>")
	zw.Close()
	return b.String()
}

// runBench times full checks of msg. Besides the wall-clock figures it reports the
// process's CPU time per check and the megabytes checked per second of it (cpu-MB/s): on a
// shared machine, where other work takes turns on the cores, these are the figures per core.
func runBench(b *testing.B, msg []byte) {
	eng := newTestEngine(b, Config{})
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := testenv.CPUTime()
	for i := 0; i < b.N; i++ {
		if _, err := eng.Check(context.Background(), msg, Input{}); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, len(msg), testenv.CPUTime()-cpu0)
}

// reportCPU reports cpu-us/op and cpu-MB/s for b.N operations on size bytes that took cpu.
func reportCPU(b *testing.B, size int, cpu time.Duration) {
	if cpu <= 0 {
		return
	}
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-us/op")
	b.ReportMetric(float64(size)*float64(b.N)/cpu.Seconds()/1e6, "cpu-MB/s")
}

// BenchmarkCheckTypical20KB is a full check of a 20 KB message: text and HTML bodies.
func BenchmarkCheckTypical20KB(b *testing.B) {
	runBench(b, benchMessage(repeatTo(typicalBody, 9<<10), nil))
}

// BenchmarkCheckAttachments5MB is a full check of a 5 MB message with CSV, DOCX and
// plain-text attachments.
func BenchmarkCheckAttachments5MB(b *testing.B) {
	csv := "name,department,notes\r\n" + repeatTo("Jordan Lee,Finance,budget review pending\r\n", 1800<<10)
	msg := benchMessage(repeatTo(typicalBody, 64<<10), [][2]string{
		{"text/csv; name=\"list.csv\"", csv},
		{"application/vnd.openxmlformats-officedocument.wordprocessingml.document; name=\"r.docx\"", docxOf(repeatTo(typicalBody, 1<<20))},
		{"text/plain; name=\"notes.txt\"", repeatTo(typicalBody, 1800<<10)},
	})
	if len(msg) < 4<<20 || len(msg) > 6<<20 {
		b.Fatalf("message is %d bytes, want about 5 MB", len(msg))
	}
	runBench(b, msg)
}

// BenchmarkCheckPlainText measures a full check of a message with a 1 MB plain-text body:
// the figure the PHI scan's speed is stated in (MB/s, and cpu-MB/s per core).
func BenchmarkCheckPlainText(b *testing.B) {
	msg := []byte("From: a@b.example\r\nTo: c@d.example\r\nSubject: x\r\nContent-Type: text/plain\r\n\r\n" + repeatTo(typicalBody, 1<<20))
	runBench(b, msg)
}
