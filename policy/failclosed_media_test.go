package policy

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"
)

// testPNG is a real PNG of w×h pixels with noise, so that its size grows with its area.
func testPNG(t testing.TB, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	seed := uint32(7)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			seed = seed*1664525 + 1013904223
			img.Set(x, y, color.RGBA{byte(seed >> 24), byte(seed >> 16), byte(seed >> 8), 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func testJPEG(t testing.TB) []byte {
	img := image.NewGray(image.Rect(0, 0, 64, 64))
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// testTIFF is the start of a little-endian TIFF, as a fax or a scanner writes it.
func testTIFF() []byte {
	return append([]byte("II*\x00\x08\x00\x00\x00"), bytes.Repeat([]byte{0, 1, 2, 3}, 256)...)
}

// decorationMail is an HTML message with an image part, as mail clients send a logo:
// multipart/related, the image inline (disp "inline" or none) with a Content-ID, and
// the HTML referencing it when referenced is true.
func decorationMail(t testing.TB, img []byte, disp string, referenced bool) []byte {
	src := "https://clinic.example/logo.png"
	if referenced {
		src = "cid:logo.123@clinic.example"
	}
	var b strings.Builder
	b.WriteString("From: Front Desk <desk@clinic.example>\r\nTo: billing@vendor.example\r\nSubject: Supplies\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=\"relB\"\r\n\r\n")
	writePart(&b, "relB", htmlPart(`<html><body><p>`+cleanText+`</p><img src="`+src+`" alt="Clinic logo"></body></html>`))
	writePart(&b, "relB", mimePart{ctype: "image/png", disp: disp, name: "logo.png", cid: "logo.123@clinic.example", cte: "base64", data: img})
	b.WriteString("--relB--\r\n")
	return []byte(b.String())
}

func TestFailClosedImageAttachments(t *testing.T) {
	for _, tc := range []struct {
		name, ctype, file string
		data              []byte
	}{
		{"png", "image/png", "wound.png", testPNG(t, 120, 120)},
		{"jpeg", "image/jpeg", "lab-report.jpg", testJPEG(t)},
		{"tiff", "image/tiff", "fax.tif", testTIFF()},
		{"png as octet-stream", "application/octet-stream", "scan", testPNG(t, 40, 40)},
		{"tiny png attachment", "image/png", "dot.png", testPNG(t, 2, 2)},
		{"audio", "audio/mpeg", "voicemail.mp3", append([]byte("ID3\x03\x00\x00\x00\x00\x00\x00"), make([]byte, 64)...)},
		{"video", "video/mp4", "visit.mp4", append([]byte("\x00\x00\x00\x18ftypmp42"), make([]byte, 64)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := checkMsg(t, Config{}, mailWith(attachmentPart(tc.ctype, tc.file, tc.data)))
			wantProtected(t, v, "2", "media")
		})
	}
}

func TestFailClosedDecorationRule(t *testing.T) {
	logo := testPNG(t, 16, 16)
	for _, tc := range []struct {
		name       string
		msg        []byte
		media      string
		unreadable bool
	}{
		{"inline logo referenced by cid", decorationMail(t, logo, "inline", true), "", false},
		{"logo without disposition", decorationMail(t, logo, "", true), "", false},
		{"logo not referenced", decorationMail(t, logo, "inline", false), "", true},
		{"logo as attachment", decorationMail(t, logo, "attachment", true), "", true},
		{"large inline image referenced", decorationMail(t, testPNG(t, 300, 300), "inline", true), "", true},
		{"protect: even the logo", decorationMail(t, logo, "inline", true), MediaProtect, true},
		{"ignore: even a scan", mailWith(attachmentPart("image/png", "scan.png", testPNG(t, 120, 120))), MediaIgnore, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := checkMsg(t, Config{Media: tc.media}, tc.msg)
			if tc.unreadable {
				wantProtected(t, v, "", "")
				if !hasReason(v, "unreadable_media", "") {
					t.Errorf("reasons %+v: want unreadable_media", v.Reasons)
				}
				return
			}
			if hasReason(v, "unreadable_media", "") {
				t.Errorf("reasons %+v: decoration marked unreadable", v.Reasons)
			}
		})
	}
}

func TestMediaConfigValidated(t *testing.T) {
	if _, err := New(Config{Media: "sometimes"}); err == nil {
		t.Error("media \"sometimes\" accepted")
	}
}
