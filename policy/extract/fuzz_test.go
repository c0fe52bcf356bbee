package extract

import (
	"context"
	"testing"
	"time"
)

// The fuzz targets feed arbitrary bytes to each reader: it must return, quickly,
// without panicking, and within its output budget. Seeds are below and in
// testdata/fuzz/<target>; .ci/run runs each target for a few seconds.

var fuzzLimits = Limits{MaxOutput: 1 << 20, MaxZipEntries: 64, MaxDepth: 3, MaxXMLDepth: 64}

// fuzzExtract runs Extract with a time bound and checks its output stays in budget.
func fuzzExtract(t *testing.T, d Doc) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res := Extract(ctx, d, fuzzLimits)
	total := 0
	for _, tx := range res.Texts {
		total += len(tx.Body)
	}
	// Text is at most what was decompressed plus the inputs themselves, expanded by
	// rendering (CSV labels, UTF-8 from one-byte code pages).
	if limit := 8*(int(fuzzLimits.MaxOutput)+len(d.Data)) + 1<<16; total > limit {
		t.Fatalf("%d bytes of text from %d bytes of input", total, len(d.Data))
	}
}

func FuzzPDF(f *testing.F) {
	f.Add(onePage("", "<< >>stream\n"+pdfRecord))
	f.Add(onePage("", "<< /Filter /AHx >>stream\n4254202f463120313020546620285353482920546a204554>"))
	f.Add(onePage("", "<< /Filter [/A85 /Fl] /DecodeParms [null << /Predictor 12 /Columns 4 >>] >>stream\n<~z~>"))
	f.Add([]byte("%PDF-1.5\n1 0 obj << /Type /ObjStm /N 2 /First 8 >> stream\n1 0 2 5 << >> [1 2 3]\nendstream endobj"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzExtract(t, Doc{MediaType: "application/pdf", Data: data})
	})
}

func FuzzLZW(f *testing.F) {
	f.Add(lzwEarly([]byte("TOBEORNOTTOBEORTOBEORNOT")), true)
	f.Add([]byte{0x80, 0x0b, 0x60, 0x50, 0x22, 0x0c, 0x0c, 0x85, 0x01}, true)
	f.Fuzz(func(t *testing.T, data []byte, early bool) {
		if out, _ := lzwDecode(data, early, 1<<20); len(out) > 1<<20 {
			t.Fatalf("%d bytes past the limit", len(out))
		}
	})
}

func FuzzHTML(f *testing.F) {
	f.Add([]byte("<html><head><title>x</title><body><!--><p>DOB 1/2/1980</p><noscript><b>y</b></noscript>"))
	f.Add([]byte("<!--[if mso]><p>a</p><![endif]--><img alt='b'><script>c</script><plaintext><p>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if out := HTML(data); len(out) > 4*len(data)+64 {
			t.Fatalf("%d bytes of text from %d bytes of HTML", len(out), len(data))
		}
	})
}

func FuzzRTF(f *testing.F) {
	f.Add([]byte(`{\rtf1\ansi\ansicpg1251{\fonttbl{\f0 A;}}\'e0 \u1071?\par{\*\shpinst{\shptxt box}}{\pict ff}\bin3 abc}`))
	f.Add([]byte(`{\rtf1{{{{{{{\uc2\u-3913??x}}}}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if out, _ := RTF(data); len(out) > 4*len(data)+64 {
			t.Fatalf("%d bytes of text from %d bytes of RTF", len(out), len(data))
		}
	})
}

func FuzzArchive(f *testing.F) {
	f.Add("x.zip", makeZip(f, "a.txt", "SSN 219-09-9999", "b.zip", string(makeZip(f, "c.csv", "a,b\n1,2\n"))))
	f.Add("x.tar", []byte("a.txt\x00"))
	f.Add("x.gz", []byte("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff\x01\x00\x00\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Add("x.xz", []byte("\xfd7zXZ\x00\x00"))
	f.Add("x.bz2", []byte("BZh91AY&SY"))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		fuzzExtract(t, Doc{Filename: name, Data: data})
	})
}

func FuzzCharset(f *testing.F) {
	f.Add("utf-16", []byte("\xff\xfeh\x00i\x00"))
	f.Add("", []byte("h\x00i\x00 \x00t\x00h\x00e\x00r\x00e\x00"))
	f.Add("iso-2022-jp", []byte("\x1b$B$3$s\x1b(B"))
	f.Add("windows-1252", []byte("Jos\xe9"))
	f.Fuzz(func(t *testing.T, charset string, data []byte) {
		if out, _ := DecodeCharset(charset, data, 1<<16); len(out) > 1<<16 {
			t.Fatalf("%d bytes past the limit", len(out))
		}
		decodeUnicode(data)
		fuzzExtract(t, Doc{MediaType: "application/octet-stream", Charset: charset, Data: data})
	})
}
