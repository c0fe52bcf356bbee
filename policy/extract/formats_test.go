package extract

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/ulikunitz/xz"
)

func TestHTMLAsBrowsersParse(t *testing.T) {
	cases := map[string]struct{ src, want string }{
		"no </head>":          {"<html><head><title>Lab</title><meta charset=utf-8><body><p>DOB 02/13/1958</p>", "DOB 02/13/1958"},
		"abrupt comment":      {"<body><!--><p>MRN 4471823</p><!-- x -->", "MRN 4471823"},
		"noscript":            {"<body><noscript><div>SSN&nbsp;219-09-9999</div></noscript>", "SSN\u00a0219-09-9999"},
		"alt and title":       {`<img alt="Ilse Aldana chart" src="x"><a title="asthma plan">x</a>`, "Ilse Aldana chart"},
		"entities":            {"<p>Ilse &amp; Aldana &#8212; &eacute;</p>", "Ilse & Aldana — é"},
		"conditional comment": {"<body><!--[if mso]><p>Patient: Ida Brandt</p><![endif]--></body>", "Patient: Ida Brandt"},
		"split word":          {"<p>Oba<span></span>diah</p>", "Obadiah"},
	}
	for name, tc := range cases {
		if got := string(HTML([]byte(tc.src))); !strings.Contains(got, tc.want) {
			t.Errorf("%s: text %q lacks %q", name, got, tc.want)
		}
	}
	got := string(HTML([]byte("<head><script>var ssn='219-09-9999'</script><style>p{}</style></head><body>ok<!-- hidden -->")))
	if strings.Contains(got, "219-09") || strings.Contains(got, "hidden") || strings.Contains(got, "p{}") {
		t.Errorf("script, style or comment read: %q", got)
	}
}

func TestRTF(t *testing.T) {
	src := `{\rtf1\ansi\ansicpg1252\uc1{\fonttbl{\f0\fswiss Arial;}}{\colortbl;\red255\green0\blue0;}` +
		`{\*\generator Msftedit;}{\info{\title Chart}}\pard Patient: Jos\'e9 Mu\u241?oz\par SSN 219-09-9999\tab asthma` +
		`{\pict\pngblip 89504e47}\par}`
	text, info := RTF([]byte(src))
	got := string(text)
	for _, want := range []string{"Patient: José Muñoz\n", "SSN 219-09-9999\tasthma"} {
		if !strings.Contains(got, want) {
			t.Errorf("RTF text %q lacks %q", got, want)
		}
	}
	for _, bad := range []string{"Arial", "Msftedit", "89504e47", "?"} {
		if strings.Contains(got, bad) {
			t.Errorf("RTF text %q keeps %q", got, bad)
		}
	}
	if info.Pictures != 1 {
		t.Errorf("pictures %d", info.Pictures)
	}
	scan := Extract(context.Background(), Doc{Filename: "scan.rtf", Data: []byte(`{\rtf1{\pict\jpegblip ffd8ff}}`)}, testLimits)
	if !slices.Contains(scan.Unreadable, ReasonNoText) {
		t.Errorf("RTF with only a picture: %v", scan.Unreadable)
	}
	obj := Extract(context.Background(), Doc{Filename: "x.rtf", Data: []byte(`{\rtf1 text{\object\objemb{\*\objdata 0105}}}`)}, testLimits)
	if !slices.Contains(obj.Unreadable, ReasonUnsupported) {
		t.Errorf("RTF with an embedded object: %v", obj.Unreadable)
	}
}

func TestCompressedAndArchives(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("name,dob\nIda Brandt,04/05/1977\n"))
	zw.Close()
	var xzb bytes.Buffer
	xw, err := xz.NewWriter(&xzb)
	if err != nil {
		t.Fatal(err)
	}
	xw.Write([]byte("name,dob\nIda Brandt,04/05/1977\n"))
	xw.Close()
	for name, data := range map[string][]byte{"labs.csv.gz": gz.Bytes(), "labs.csv.xz": xzb.Bytes()} {
		res := Extract(context.Background(), Doc{Filename: name, Data: data}, testLimits)
		if got := texts(res); !strings.Contains(got, "dob: 04/05/1977") || len(res.Unreadable) > 0 {
			t.Errorf("%s: text %q, unreadable %v", name, got, res.Unreadable)
		}
	}
	// A gzip bomb stops at the budget.
	var bomb bytes.Buffer
	zw = gzip.NewWriter(&bomb)
	zw.Write(bytes.Repeat([]byte("A"), 4<<20))
	zw.Close()
	res := Extract(context.Background(), Doc{Filename: "x.gz", Data: bomb.Bytes()}, testLimits)
	if !slices.Contains(res.Unreadable, ReasonLimit) {
		t.Errorf("gzip bomb: unreadable %v", res.Unreadable)
	}
	// Archives nested past the depth limit.
	inner := gz.Bytes()
	for i := 0; i < 4; i++ {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		w.Write(inner)
		w.Close()
		inner = b.Bytes()
	}
	if res := Extract(context.Background(), Doc{Filename: "deep.gz", Data: inner}, testLimits); !slices.Contains(res.Unreadable, ReasonLimit) {
		t.Errorf("nested gzip: unreadable %v", res.Unreadable)
	}
}

func TestZipEncryptedAndNested(t *testing.T) {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, _ := zw.CreateHeader(&zip.FileHeader{Name: "labs.csv", Method: zip.Store, Flags: 0x1})
	w.Write([]byte("garbled"))
	zw.Close()
	res := Extract(context.Background(), Doc{Filename: "x.zip", Data: b.Bytes()}, testLimits)
	if !slices.Contains(res.Unreadable, ReasonEncrypted) {
		t.Errorf("encrypted entry: %v", res.Unreadable)
	}
	inner := makeZip(t, "notes.txt", "SSN 219-09-9999")
	outer := makeZip(t, "inner.zip", string(inner), "photo.jpg", "\xff\xd8\xff\xe0\x00\x10JFIF")
	res = Extract(context.Background(), Doc{Filename: "x.zip", Data: outer}, testLimits)
	if !strings.Contains(texts(res), "SSN 219-09-9999") || !slices.Contains(res.Unreadable, ReasonMedia) {
		t.Errorf("nested zip: text %q, unreadable %v; want the inner text and the photo as media", texts(res), res.Unreadable)
	}
}

func TestOfficeEmbeddingsAndPictures(t *testing.T) {
	xlsx := makeZip(t, "xl/workbook.xml", "<workbook/>", "xl/sharedStrings.xml", "<sst><si><t>SSN 219-09-9999</t></si></sst>")
	docx := makeZip(t, "word/document.xml", "<w:document><w:body><w:p><w:r><w:t>See attached</w:t></w:r></w:p></w:body></w:document>",
		"word/embeddings/Microsoft_Excel_Worksheet.xlsx", string(xlsx))
	if got := texts(Extract(context.Background(), Doc{Filename: "letter.docx", Data: docx}, testLimits)); !strings.Contains(got, "SSN 219-09-9999") {
		t.Errorf("embedded workbook not read: %q", got)
	}
	scan := makeZip(t, "word/document.xml", "<w:document><w:body><w:p/></w:body></w:document>", "word/media/image1.png", "\x89PNG\r\n\x1a\n")
	if res := Extract(context.Background(), Doc{Filename: "scan.docx", Data: scan}, testLimits); !slices.Contains(res.Unreadable, ReasonNoText) {
		t.Errorf("docx of a pasted scan: %v", res.Unreadable)
	}
	odt := makeZip(t, "mimetype", "application/vnd.oasis.opendocument.text", "content.xml",
		`<office:document-content><office:body><office:text><text:p>MRN 4471823</text:p></office:text></office:body></office:document-content>`)
	if got := texts(Extract(context.Background(), Doc{Filename: "n.odt", Data: odt}, testLimits)); !strings.Contains(got, "MRN 4471823") {
		t.Errorf("odt text %q", got)
	}
}

func TestCharsets(t *testing.T) {
	for _, tc := range []struct {
		name, data, want string
	}{
		{"utf-16le bom", "\xff\xfeS\x00S\x00N\x00", "SSN"},
		{"utf-16be bom", "\xfe\xff\x00S\x00S\x00N", "SSN"},
		{"utf-32le bom", "\xff\xfe\x00\x00S\x00\x00\x00S\x00\x00\x00N\x00\x00\x00", "SSN"},
		{"utf-16le no bom", "S\x00S\x00N\x00 \x002\x001\x009\x00", "SSN 219"},
		{"windows-1252", "Jos\xe9 \x93quoted\x94", "José “quoted”"},
	} {
		res := Extract(context.Background(), Doc{MediaType: "text/plain", Data: []byte(tc.data)}, testLimits)
		if got := texts(res); !strings.Contains(got, tc.want) {
			t.Errorf("%s: text %q lacks %q", tc.name, got, tc.want)
		}
	}
	res := Extract(context.Background(), Doc{MediaType: "application/csv", Charset: "utf-7", Data: []byte("a,b\n1,2\n")}, testLimits)
	if !slices.Contains(res.Unreadable, ReasonCharset) {
		t.Errorf("utf-7: unreadable %v", res.Unreadable)
	}
	res = Extract(context.Background(), Doc{MediaType: "application/csv", Charset: "iso-8859-1", Data: []byte("name\nJos\xe9\n")}, testLimits)
	if got := texts(res); !strings.Contains(got, "José") || len(res.Unreadable) > 0 {
		t.Errorf("latin-1 csv: %q %v", got, res.Unreadable)
	}
}
