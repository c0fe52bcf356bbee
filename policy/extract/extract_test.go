package extract

import (
	"archive/zip"
	"bytes"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

var testLimits = Limits{MaxOutput: 1 << 20, MaxZipEntries: 100, MaxDepth: 3, MaxXMLDepth: 64}

func TestHTML(t *testing.T) {
	src := `<html><head><title>t</title><style>p{color:red}</style><script>var ssn="x";</script></head>
<body><div>Re: Oba<span class="x"></span>diah &mdash; dx</div><div>DOB &#48;&#50;&#47;&#50;&#56;</div>
<table><tr><td>SSN</td><td>1</td></tr></table><!-- hidden comment --></body></html>`
	got := string(HTML([]byte(src)))
	for _, want := range []string{"Obadiah", "—", "DOB 02/28", "SSN\t"} {
		if !strings.Contains(got, want) {
			t.Errorf("HTML text %q lacks %q", got, want)
		}
	}
	for _, bad := range []string{"color:red", "var ssn", "hidden comment", "<span"} {
		if strings.Contains(got, bad) {
			t.Errorf("HTML text %q keeps %q", got, bad)
		}
	}
}

func TestCSV(t *testing.T) {
	b, _ := CSV([]byte("last,first,dob\r\nDoe,Jane,1980-01-02\r\n"), 1<<20)
	got := string(b)
	if !strings.Contains(got, "dob: 1980-01-02") || !strings.Contains(got, "first: Jane") {
		t.Errorf("CSV text %q does not label values with their headers", got)
	}
	if b, _ := CSV([]byte("a;b\n1;2\n"), 1<<20); !strings.Contains(string(b), "b: 2") {
		t.Errorf("semicolon CSV text %q", b)
	}
	wide := strings.Repeat(strings.Repeat("long_column_name,", 200)+"\n", 2) + strings.Repeat(strings.Repeat(",", 200)+"\n", 5000)
	if b, err := CSV([]byte(wide), 1<<20); !errors.Is(err, ErrTooLarge) || len(b) > 1<<20 {
		t.Errorf("sparse wide CSV: %d bytes, err %v; want at most 1 MiB and ErrTooLarge", len(b), err)
	}
}

func TestHL7(t *testing.T) {
	got := string(HL7([]byte("MSH|^~\\&|A\rPID|1||9\r")))
	if got != "MSH|^~\\&|A\nPID|1||9\n" {
		t.Errorf("HL7 text %q", got)
	}
}

func TestJSON(t *testing.T) {
	b, err := JSON([]byte(`{"patient":{"name":"Jane Doe","dob":"1980-01-02","tags":["a",1,true]}}`), 16, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	for _, want := range []string{"name: Jane Doe", "dob: 1980-01-02", "tags: 1"} {
		if !strings.Contains(got, want) {
			t.Errorf("JSON text %q lacks %q", got, want)
		}
	}
	deep := strings.Repeat("[", 100) + strings.Repeat("]", 100)
	if got, _ := JSON([]byte(deep), 16, 1<<20); len(got) == 0 {
		t.Error("deep JSON lost its raw text")
	}
	amplified := `{"` + strings.Repeat("k", 1000) + `":[` + strings.Repeat("1,", 100000) + `1]}`
	if got, err := JSON([]byte(amplified), 16, 1<<20); !errors.Is(err, ErrTooLarge) || len(got) > 1<<20 {
		t.Errorf("key-amplifying JSON: %d bytes, err %v", len(got), err)
	}
}

func TestICS(t *testing.T) {
	src := "BEGIN:VEVENT\r\nSUMMARY:Infusion - Ilse\r\n  Carvajal\r\nDESCRIPTION:DOB 02/13/1958\\nroom 4\r\nATTENDEE;CN=Ilse Carvajal;ROLE=REQ:mailto:i@x\r\nEND:VEVENT\r\n"
	got := string(ICS([]byte(src)))
	for _, want := range []string{"summary: Infusion - Ilse Carvajal", "DOB 02/13/1958\nroom 4", "attendee: Ilse Carvajal"} {
		if !strings.Contains(got, want) {
			t.Errorf("ICS text %q lacks %q", got, want)
		}
	}
}

func TestXMLCDA(t *testing.T) {
	src := `<?xml version="1.0"?><ClinicalDocument xmlns="urn:hl7-org:v3"><recordTarget><patientRole>
<patient><name><given>Cosimo</given><family>Deverell</family></name><birthTime value="19830518"/></patient>
</patientRole></recordTarget><component><section><title>PROBLEMS</title>
<entry><observation><value code="N18.4" displayName="chronic kidney disease stage 4"/></observation></entry>
</section></component></ClinicalDocument>`
	got, sig, err := XML([]byte(src), 64)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Patient: Cosimo Deverell", "Date of birth: 19830518", "chronic kidney disease stage 4", "PROBLEMS"} {
		if !strings.Contains(string(got), want) {
			t.Errorf("CDA text %q lacks %q", got, want)
		}
	}
	if sig.RecordPatient != 1 || sig.RecordClinical != 1 {
		t.Errorf("signals %+v, want one patient and one observation", sig)
	}
	deep := strings.Repeat("<a>", 100)
	if _, _, err := XML([]byte(deep), 64); !errors.Is(err, ErrTooDeep) {
		t.Errorf("deep XML: err %v, want ErrTooDeep", err)
	}
}

// makePDF builds a one-page PDF whose content stream shows text, optionally compressed.
func makePDF(t testing.TB, content string, flate bool) []byte {
	t.Helper()
	stream, filter := []byte(content), ""
	if flate {
		var b bytes.Buffer
		zw := zlib.NewWriter(&b)
		zw.Write(stream)
		zw.Close()
		stream, filter = b.Bytes(), " /Filter /FlateDecode"
	}
	return []byte(fmt.Sprintf("%%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n4 0 obj\n<< /Length %d%s >>\nstream\n%s\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%%%EOF\n",
		len(stream), filter, stream))
}

func TestPDF(t *testing.T) {
	content := "BT /F1 10 Tf (Name: Ilse Aldana) Tj T* [(Assess) -10 (ment:) -300 (CKD \\(N18.4\\))] TJ ET"
	for _, flate := range []bool{false, true} {
		got, err := PDF(makePDF(t, content, flate), 1<<20, 1<<20)
		if err != nil {
			t.Fatalf("flate=%v: %v", flate, err)
		}
		for _, want := range []string{"Name: Ilse Aldana", "Assessment: CKD (N18.4)"} {
			if !strings.Contains(string(got), want) {
				t.Errorf("flate=%v: PDF text %q lacks %q", flate, got, want)
			}
		}
	}
	enc := append(makePDF(t, content, false), []byte("trailer << /Encrypt 5 0 R >>")...)
	if _, err := PDF(enc, 1<<20, 1<<20); !errors.Is(err, ErrPDFEncrypted) {
		t.Errorf("encrypted PDF: err %v", err)
	}
	if _, err := PDF(makePDF(t, "q 1 0 0 1 0 0 cm /Im1 Do Q", false), 1<<20, 1<<20); !errors.Is(err, ErrPDFNoText) {
		t.Errorf("image-only PDF: err %v", err)
	}
	cid := "BT /F1 10 Tf <0123012401250126012701280129012a> Tj ET"
	if _, err := PDF(makePDF(t, cid, false), 1<<20, 1<<20); !errors.Is(err, ErrPDFNoText) {
		t.Errorf("PDF with glyph codes only: err %v", err)
	}
}

// makeZip builds an archive from name/content pairs.
func makeZip(t testing.TB, files ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for i := 0; i+1 < len(files); i += 2 {
		w, err := zw.Create(files[i])
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(files[i+1]))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestDOCXAndXLSX(t *testing.T) {
	docx := makeZip(t, "[Content_Types].xml", "<Types/>", "word/document.xml",
		`<w:document xmlns:w="w"><w:body><w:p><w:r><w:t>Pat</w:t></w:r><w:r><w:t>ient: Jane Doe</w:t></w:r></w:p><w:p><w:r><w:t>asthma</w:t></w:r></w:p></w:body></w:document>`)
	res := Extract(context.Background(), Doc{Filename: "note.docx", Data: docx}, testLimits)
	if len(res.Texts) != 1 || !strings.Contains(string(res.Texts[0].Body), "Patient: Jane Doe\nasthma") {
		t.Errorf("docx texts %+v", res.Texts)
	}
	xlsx := makeZip(t, "xl/workbook.xml", "<workbook/>", "xl/sharedStrings.xml",
		`<sst><si><t>DOB</t></si><si><t>1980-01-02</t></si></sst>`)
	res = Extract(context.Background(), Doc{MediaType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", Data: xlsx}, testLimits)
	if len(res.Texts) != 1 || !strings.Contains(string(res.Texts[0].Body), "DOB\n1980-01-02") {
		t.Errorf("xlsx texts %+v", res.Texts)
	}
}

func TestZipBomb(t *testing.T) {
	big := strings.Repeat("A", 8<<20)
	docx := makeZip(t, "word/document.xml", "<w:document>"+big+"</w:document>")
	res := Extract(context.Background(), Doc{Filename: "bomb.docx", Data: docx}, testLimits)
	if len(res.Unreadable) == 0 || res.Unreadable[0] != ReasonLimit {
		t.Errorf("zip bomb: unreadable %v, want %q", res.Unreadable, ReasonLimit)
	}
	for _, tx := range res.Texts {
		if len(tx.Body) > int(testLimits.MaxOutput) {
			t.Errorf("zip bomb produced %d bytes of text", len(tx.Body))
		}
	}
}

func TestNestedZipDepth(t *testing.T) {
	inner := makeZip(t, "a.txt", "asthma")
	for i := 0; i < 5; i++ {
		inner = makeZip(t, fmt.Sprintf("l%d.zip", i), string(inner))
	}
	res := Extract(context.Background(), Doc{Filename: "x.zip", Data: inner}, testLimits)
	if len(res.Unreadable) == 0 {
		t.Error("archives nested past the limit were not reported unreadable")
	}
}

func TestKind(t *testing.T) {
	cases := []struct{ mt, name, data, want string }{
		{"text/html", "", "<p>x", "html"},
		{"application/octet-stream", "a.pdf", "%PDF-1.4", "pdf"},
		{"application/octet-stream", "lab.hl7", "MSH|^~", "hl7"},
		{"application/octet-stream", "x.csv", "a,b", "csv"},
		{"image/png", "logo.png", "\x89PNG\r\n\x1a\n\x00\x00", "media"},
		{"application/octet-stream", "", "\x00\x01\x02\x03\x04\x05", "binary"},
		{"image/png", "labs.csv", "name,dob\nA B,1980-01-02\n", "csv"},
		{"image/png", "scan.png", "plain words here", "text"},
		{"application/octet-stream", "winmail.dat", "\x78\x9f\x3e\x22\x01\x00", "tnef"},
		{"application/octet-stream", "a.7z", "7z\xbc\xaf\x27\x1c\x00\x04", "7z"},
		{"text/plain", "", "\xff\xfeh\x00i\x00", "text16"},
		{"text/csv", "", "BMI,weight\n22,70\n", "csv"},
		{"application/octet-stream", "", "BMI,weight\n22,70\n", "text"},
		{"application/octet-stream", "x.bin", "BM\x36\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00\x28\x00", "media"},
		{"application/octet-stream", "", "\x1f\x8b\x08\x00", "gzip"},
		{"application/pdf", "", "junk", "pdf"},
		{"application/octet-stream", "", "plain words here", "text"},
		{"application/msword", "old.doc", "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", "ole"},
	}
	for _, tc := range cases {
		if got := Kind(tc.mt, tc.name, []byte(tc.data)); got != tc.want {
			t.Errorf("Kind(%q, %q) = %q, want %q", tc.mt, tc.name, got, tc.want)
		}
	}
}

func TestOfficeXML(t *testing.T) {
	src := `<?xml version="1.0"?><w:document><w:p><w:r><w:t>Oba</w:t></w:r><w:r><w:t>diah &amp; co</w:t></w:r><w:tab/><w:t>x</w:t></w:p><w:p><w:t>next</w:t></w:p></w:document>`
	if got := string(OfficeXML([]byte(src))); got != "Obadiah & co\tx\nnext\n" {
		t.Errorf("OfficeXML = %q", got)
	}
}
