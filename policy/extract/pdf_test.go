package extract

import (
	"bytes"
	"compress/lzw"
	"compress/zlib"
	"context"
	"encoding/ascii85"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// buildPDF assembles a PDF from object bodies; object i+1 is objs[i]. A body holding
// "stream\n" gets its /Length filled in from the data after it.
func buildPDF(objs ...string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	for i, o := range objs {
		if k := strings.Index(o, "stream\n"); k >= 0 {
			data := o[k+len("stream\n"):]
			o = strings.Replace(o[:k], ">>", fmt.Sprintf("/Length %d >>", len(data)), 1) + "stream\n" + data + "\nendstream"
		}
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	b.WriteString("trailer\n<< /Root 1 0 R >>\n%%EOF\n")
	return b.Bytes()
}

// onePage is a catalog, a page tree and a page whose content is object 4, with a
// Helvetica font F1 (object 5) and extra resources.
func onePage(resources string, content string, more ...string) []byte {
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 5 0 R >> " + resources + " >> /Contents 4 0 R >>",
		content,
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	return buildPDF(append(objs, more...)...)
}

const pdfRecord = "BT /F1 10 Tf 72 700 Td (Patient: Ilse Aldana) Tj T* (SSN 219-09-9999) Tj T* (Diagnosis: asthma) Tj ET"

func zlibBytes(b []byte) []byte {
	var out bytes.Buffer
	zw := zlib.NewWriter(&out)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}

// lzwEarly encodes data as PDF's LZWDecode does by default (EarlyChange 1): the code
// width grows when the next code would need it one code early.
func lzwEarly(data []byte) []byte {
	var out []byte
	var acc uint64
	bits := 0
	width := 9
	emit := func(code int) {
		acc = acc<<width | uint64(code)
		bits += width
		for bits >= 8 {
			out = append(out, byte(acc>>(bits-8)))
			bits -= 8
		}
	}
	dict := map[string]int{}
	reset := func() {
		clear(dict)
		for c := 0; c < 256; c++ {
			dict[string([]byte{byte(c)})] = c
		}
		width = 9
	}
	reset()
	emit(256)
	next := 258
	w := ""
	for _, c := range data {
		wc := w + string([]byte{c})
		if _, ok := dict[wc]; ok {
			w = wc
			continue
		}
		emit(dict[w])
		dict[wc] = next
		next++
		if next >= 1<<width && width < 12 { // the decoder, one entry behind, grows at next+1
			width++
		}
		if next >= 4094 {
			emit(256)
			reset()
			next = 258
		}
		w = string([]byte{c})
	}
	if w != "" {
		emit(dict[w])
	}
	emit(257)
	if bits > 0 {
		out = append(out, byte(acc<<(8-bits)))
	}
	return out
}

func TestLZWDecode(t *testing.T) {
	long := []byte(strings.Repeat("Patient: Ilse Aldana, SSN 219-09-9999, diagnosis asthma. ", 400))
	got, err := lzwDecode(lzwEarly(long), true, 1<<20)
	if err != nil || !bytes.Equal(got, long) {
		t.Fatalf("early change: %d bytes, err %v; want the %d bytes back", len(got), err, len(long))
	}
	var b bytes.Buffer
	zw := lzw.NewWriter(&b, lzw.MSB, 8) // GIF-style codes: EarlyChange 0
	zw.Write(long)
	zw.Close()
	got, err = lzwDecode(b.Bytes(), false, 1<<20)
	if err != nil || !bytes.Equal(got, long) {
		t.Fatalf("EarlyChange 0: %d bytes, err %v", len(got), err)
	}
	if _, err := lzwDecode(lzwEarly(long), true, 100); err != ErrTooLarge {
		t.Errorf("limit: err %v", err)
	}
}

// pngPredicted applies PNG "Sub" row filters to rows of cols bytes.
func pngPredicted(data []byte, cols int) []byte {
	var out []byte
	for s := 0; s < len(data); s += cols {
		row := make([]byte, cols)
		copy(row, data[s:min(s+cols, len(data))])
		out = append(out, 1)
		for i := range row {
			prev := byte(0)
			if i > 0 {
				prev = row[i-1]
			}
			out = append(out, row[i]-prev)
		}
	}
	return out
}

func runLength(data []byte) []byte {
	var out []byte
	for len(data) > 0 {
		n := min(len(data), 128)
		out = append(out, byte(n-1))
		out = append(out, data[:n]...)
		data = data[n:]
	}
	return append(out, 128)
}

func a85(data []byte) []byte {
	out := make([]byte, ascii85.MaxEncodedLen(len(data)))
	n := ascii85.Encode(out, data)
	return append(out[:n], "~>"...)
}

func TestPDFFilters(t *testing.T) {
	content := []byte(pdfRecord)
	cases := map[string]string{
		"flate":         "<< /Filter /FlateDecode >>stream\n" + string(zlibBytes(content)),
		"png predictor": "<< /Filter /FlateDecode /DecodeParms << /Predictor 12 /Columns 16 >> >>stream\n" + string(zlibBytes(pngPredicted(content, 16))),
		"lzw":           "<< /Filter /LZWDecode >>stream\n" + string(lzwEarly(content)),
		"asciihex":      "<< /Filter /AHx >>stream\n" + fmt.Sprintf("%x>", content),
		"ascii85":       "<< /Filter /ASCII85Decode >>stream\n" + string(a85(content)),
		"runlength":     "<< /Filter /RunLengthDecode >>stream\n" + string(runLength(content)),
		"chain":         "<< /Filter [/ASCII85Decode /FlateDecode] >>stream\n" + string(a85(zlibBytes(content))),
		"raw deflate":   "<< /Filter /Fl >>stream\n" + string(zlibBytes(content)[2:]),
	}
	for name, obj := range cases {
		t.Run(name, func(t *testing.T) {
			res := Extract(context.Background(), Doc{MediaType: "application/pdf", Data: onePage("", obj)}, testLimits)
			if len(res.Unreadable) > 0 {
				t.Fatalf("unreadable %v", res.Unreadable)
			}
			got := texts(res)
			for _, want := range []string{"Patient: Ilse Aldana", "SSN 219-09-9999", "Diagnosis: asthma"} {
				if !strings.Contains(got, want) {
					t.Errorf("text %q lacks %q", got, want)
				}
			}
		})
	}
}

func texts(res Result) string {
	var b strings.Builder
	for _, t := range res.Texts {
		b.Write(t.Body)
		b.WriteByte('\n')
	}
	return b.String()
}

func TestPDFUnreadable(t *testing.T) {
	image := "<< /Type /XObject /Subtype /Image /Width 8 /Height 8 /BitsPerComponent 8 /ColorSpace /DeviceGray /Filter /DCTDecode >>stream\n\xff\xd8\xff\xe0"
	cases := []struct {
		name, want string
		pdf        []byte
	}{
		{"unknown filter", ReasonUnsupported, onePage("", "<< /Filter /BrotliDecode >>stream\nxxxx")},
		{"image filter on content", ReasonUnsupported, onePage("", "<< /Filter /DCTDecode >>stream\n\xff\xd8\xff")},
		{"filter named by a reference to no object", ReasonCorrupt, onePage("", "<< /Filter 9 0 R >>stream\n"+string(zlibBytes([]byte(pdfRecord))))},
		{"filter array with a dangling reference", ReasonUnsupported, onePage("", "<< /Filter [/FlateDecode 9 0 R] >>stream\n"+string(zlibBytes([]byte(pdfRecord))))},
		{"crypt filter", ReasonEncrypted, onePage("", "<< /Filter /Crypt /DecodeParms << /Name /StdCF >> >>stream\nxxxx")},
		{"truncated flate", ReasonCorrupt, onePage("", "<< /Filter /FlateDecode >>stream\n"+string(zlibBytes([]byte(strings.Repeat(pdfRecord, 50)))[:40]))},
		{"scanned page", ReasonNoText, onePage("/XObject << /Im1 6 0 R >>", "<< >>stream\nq 100 0 0 100 0 0 cm /Im1 Do Q", image)},
		{"inline image only", ReasonNoText, onePage("", "<< >>stream\nq BI /W 2 /H 2 /BPC 8 /CS /G ID \x00\x01(\x02\x03 EI Q")},
		{"composite font without ToUnicode", ReasonNoText, onePage("", "<< >>stream\nBT /F2 10 Tf <00410042> Tj ET",
			"<< /Type /Font /Subtype /Type0 /BaseFont /X /Encoding /Identity-H >>")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pdf := tc.pdf
			if strings.Contains(tc.name, "composite") {
				pdf = bytes.Replace(pdf, []byte("/F1 5 0 R"), []byte("/F1 5 0 R /F2 6 0 R"), 1)
			}
			res := Extract(context.Background(), Doc{MediaType: "application/pdf", Data: pdf}, testLimits)
			if !slices.Contains(res.Unreadable, tc.want) {
				t.Errorf("unreadable %v, want %q", res.Unreadable, tc.want)
			}
		})
	}
	// A page that paints a logo and shows text is readable.
	page := onePage("/XObject << /Im1 6 0 R >>", "<< >>stream\nq 10 0 0 10 0 0 cm /Im1 Do Q "+pdfRecord, image)
	if res := Extract(context.Background(), Doc{Data: page}, testLimits); len(res.Unreadable) > 0 {
		t.Errorf("page with text and a logo: unreadable %v", res.Unreadable)
	}
}

func TestPDFObjectStreamAndToUnicode(t *testing.T) {
	// The page dictionary lives in an object stream; its text is shown in a composite
	// font whose ToUnicode CMap maps two-byte codes.
	pageDict := "<< /Type /Page /Parent 2 0 R /Resources << /Font << /F2 5 0 R >> >> /Contents 4 0 R >>"
	header := "3 0 "
	objstm := fmt.Sprintf("<< /Type /ObjStm /N 1 /First %d /Filter /FlateDecode >>stream\n%s", len(header), zlibBytes([]byte(header+pageDict)))
	cmap := "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n1 begincodespacerange <0000> <FFFF> endcodespacerange\n" +
		"2 beginbfchar <0003> <0020> <0010> <003A> endbfchar\n" +
		"2 beginbfrange <0020> <0039> <0041> <0040> <0049> [<0030> <0031> <0032> <0033> <0034> <0035> <0036> <0037> <0038> <0039>] endbfrange\nendcmap end end"
	// "SSN" = S(0x53)->code 0x32, N(0x4e)->0x2d; digits 0-9 -> 0x40-0x49.
	enc := func(s string) string {
		var b strings.Builder
		for _, r := range s {
			switch {
			case r >= 'A' && r <= 'Z':
				fmt.Fprintf(&b, "%04X", 0x20+int(r-'A'))
			case r >= '0' && r <= '9':
				fmt.Fprintf(&b, "%04X", 0x40+int(r-'0'))
			case r == ' ':
				b.WriteString("0003")
			case r == ':':
				b.WriteString("0010")
			}
		}
		return b.String()
	}
	content := "BT /F2 10 Tf <" + enc("SSN 219099999") + "> Tj ET"
	pdf := buildPDF(
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Placeholder >>", // replaced by the object stream's definition below
		"<< >>stream\n"+content,
		"<< /Type /Font /Subtype /Type0 /BaseFont /ABCDEF+Calibri /Encoding /Identity-H /ToUnicode 7 0 R >>",
		objstm,
		"<< >>stream\n"+cmap,
	)
	pdf = bytes.Replace(pdf, []byte("3 0 obj\n<< /Type /Placeholder >>\nendobj\n"), nil, 1)
	res := Extract(context.Background(), Doc{Data: pdf}, testLimits)
	if got := texts(res); !strings.Contains(got, "SSN 219099999") || len(res.Unreadable) > 0 {
		t.Errorf("text %q, unreadable %v: want the ToUnicode-mapped text from the page in the object stream", got, res.Unreadable)
	}
}

func TestPDFFormFieldsAndEmbeddedFiles(t *testing.T) {
	pdf := onePage("", "<< >>stream\n"+pdfRecord,
		"<< /FT /Tx /T (mrn) /V (MRN 4471823) >>",
		"<< /Type /EmbeddedFile /Subtype /text#2Fcsv /Filter /FlateDecode >>stream\n"+string(zlibBytes([]byte("name,dob\nIda Brandt,04/05/1977\n"))))
	got := texts(Extract(context.Background(), Doc{Data: pdf}, testLimits))
	for _, want := range []string{"MRN 4471823", "dob: 04/05/1977"} {
		if !strings.Contains(got, want) {
			t.Errorf("text %q lacks %q", got, want)
		}
	}
}

func TestPDFTextOperators(t *testing.T) {
	content := "BT /F1 10 Tf (first) Tj (second line) ' 1 2 (third line) \" [(Ass) -20 (ess) -400 (ment)] TJ <48656C6C6F> Tj ET"
	got := texts(Extract(context.Background(), Doc{Data: onePage("", "<< >>stream\n"+content)}, testLimits))
	for _, want := range []string{"first\nsecond line", "\nthird line", "Assess ment", "Hello"} {
		if !strings.Contains(got, want) {
			t.Errorf("text %q lacks %q", got, want)
		}
	}
}
