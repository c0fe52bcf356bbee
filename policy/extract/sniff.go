package extract

import "bytes"

// Format classes of sniffed content.
const (
	classReadable    = iota + 1 // a format an extractor reads
	classMedia                  // image, audio or video: no text to read
	classUnsupported            // a container or document no extractor here reads
)

// magic is one content signature: bytes at an offset.
type magic struct {
	off   int
	sig   string
	kind  string // Kind for readable formats, else the format's name
	class int
}

// magics are the signatures Sniff knows, most specific first.
var magics = []magic{
	{0, "%PDF-", "pdf", classReadable},
	{0, "PK\x03\x04", "zip", classReadable},
	{0, "PK\x05\x06", "zip", classReadable}, // empty archive
	{0, "PK\x07\x08", "zip", classReadable}, // spanned archive marker
	{0, "\x1f\x8b", "gzip", classReadable},
	{0, "\xfd7zXZ\x00", "xz", classReadable},
	{0, "BZh", "bzip2", classReadable},
	{257, "ustar", "tar", classReadable},
	{0, "{\\rtf", "rtf", classReadable},
	{0, "MSH|", "hl7", classReadable},

	{0, "7z\xbc\xaf\x27\x1c", "7z", classUnsupported},
	{0, "Rar!\x1a\x07", "rar", classUnsupported},
	{0, "\x78\x9f\x3e\x22", "tnef", classUnsupported}, // TNEF signature 0x223E9F78, little-endian
	{0, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole", classUnsupported},
	{0, "\x28\xb5\x2f\xfd", "zstd", classUnsupported},
	{0, "LZIP", "lzip", classUnsupported},
	{0, "\x04\x22\x4d\x18", "lz4", classUnsupported},
	{0, "\x1f\x9d", "compress", classUnsupported},
	{0, "MSCF", "cab", classUnsupported},
	{0, "\x7fELF", "elf", classUnsupported},
	{0, "MZ", "exe", classUnsupported},
	{0, "\xca\xfe\xba\xbe", "macho", classUnsupported},
	{0, "\xcf\xfa\xed\xfe", "macho", classUnsupported},
	{0, "!<arch>\n", "ar", classUnsupported},
	{0, "SQLite format 3\x00", "sqlite", classUnsupported},
	{0, "\x00\x01\x00\x00\x00", "font", classUnsupported},
	{0, "OTTO", "font", classUnsupported},
	{0, "wOFF", "font", classUnsupported},
	{0, "wOF2", "font", classUnsupported},
	{0, "BEGIN:VCARD", "vcard", classReadable},

	{0, "\x89PNG\r\n\x1a\n", "png", classMedia},
	{0, "\xff\xd8\xff", "jpeg", classMedia},
	{0, "GIF87a", "gif", classMedia},
	{0, "GIF89a", "gif", classMedia},
	{0, "II*\x00", "tiff", classMedia},
	{0, "MM\x00*", "tiff", classMedia},
	{0, "II+\x00", "tiff", classMedia}, // BigTIFF
	{0, "BM", "bmp", classMedia},
	{0, "\x00\x00\x01\x00", "ico", classMedia},
	{0, "8BPS", "psd", classMedia},
	{0, "\x00\x00\x00\x0cjP  ", "jp2", classMedia},
	{0, "\xff\x4f\xff\x51", "jp2", classMedia},
	{0, "\x97JB2\r\n\x1a\n", "jbig2", classMedia},
	{128, "DICM", "dicom", classMedia}, // DICOM part 10: 128-byte preamble
	{0, "ID3", "mp3", classMedia},
	{0, "\xff\xfb", "mp3", classMedia},
	{0, "\xff\xf3", "mp3", classMedia},
	{0, "\xff\xf2", "mp3", classMedia},
	{0, "\xff\xf1", "aac", classMedia},
	{0, "\xff\xf9", "aac", classMedia},
	{0, "OggS", "ogg", classMedia},
	{0, "fLaC", "flac", classMedia},
	{0, "#!AMR", "amr", classMedia},
	{0, "\x1aE\xdf\xa3", "matroska", classMedia},
	{0, "FORM", "aiff", classMedia},
	{0, ".snd", "au", classMedia},
	{0, "MThd", "midi", classMedia},
	{0, "\x30\x26\xb2\x75\x8e\x66\xcf\x11", "asf", classMedia},
	{0, "\x00\x00\x01\xba", "mpeg", classMedia},
	{0, "\x00\x00\x01\xb3", "mpeg", classMedia},
	{0, "FWS", "flash", classMedia},
	{0, "CWS", "flash", classMedia},
}

// sniffed is what the bytes of some content say it is.
type sniffed struct {
	kind  string // extractor kind for readable formats, else the format's name
	class int    // 0 when no signature matched
}

// sniff identifies content by its leading bytes (its "magic").
func sniff(data []byte) sniffed {
	text := -1 // looksLikeText, computed once when a weak signature needs it
	for _, m := range magics {
		if len(data) < m.off+len(m.sig) || string(data[m.off:m.off+len(m.sig)]) != m.sig {
			continue
		}
		if weakMagic(m) {
			if text < 0 {
				text = b2i(looksLikeText(data))
			}
			if text == 1 {
				continue // "BMI,weight" is a CSV, not a bitmap
			}
		}
		return sniffed{m.kind, m.class}
	}
	if len(data) >= 12 {
		switch string(data[0:4]) {
		case "RIFF":
			switch string(data[8:12]) {
			case "WEBP":
				return sniffed{"webp", classMedia}
			case "WAVE", "AVI ":
				return sniffed{"riff", classMedia}
			}
		}
		if string(data[4:8]) == "ftyp" { // ISO base media: MP4, MOV, M4A, HEIC, AVIF, 3GP
			return sniffed{"isobmff", classMedia}
		}
	}
	if looksLikeSVG(data) {
		return sniffed{"xml", classReadable}
	}
	return sniffed{}
}

// weakMagic reports a short printable signature that ordinary text can start with; it
// only counts when the rest of the content is not text.
func weakMagic(m magic) bool {
	if len(m.sig) > 4 || m.kind == "hl7" {
		return false
	}
	for i := 0; i < len(m.sig); i++ {
		if m.sig[i] < 0x20 || m.sig[i] > 0x7e {
			return false
		}
	}
	return true
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// mediaFormat names the image, audio or video format of data, or "unknown".
func mediaFormat(data []byte) string {
	if sn := sniff(data); sn.class == classMedia {
		return sn.kind
	}
	return "unknown"
}

// Decoration reports whether a media format (Result.Media) is one that e-mail uses for
// logos, icons and signature images: PNG, JPEG, GIF, WebP, BMP or ICO. TIFF (faxes and
// scans), DICOM, JPEG 2000, JBIG2, audio and video never are.
func Decoration(format string) bool {
	switch format {
	case "png", "jpeg", "gif", "webp", "bmp", "ico":
		return true
	}
	return false
}

// looksLikeSVG reports an SVG image, which is XML text and is read as such.
func looksLikeSVG(data []byte) bool {
	head := data[:min(len(data), 512)]
	return bytes.Contains(head, []byte("<svg")) && bytes.HasPrefix(bytes.TrimLeft(head, " \t\r\n\xef\xbb\xbf"), []byte("<"))
}

// isMediaType reports a declared image, audio or video type.
func isMediaType(mt string) bool {
	return hasAnyPrefix(mt, "image/", "audio/", "video/")
}

func hasAnyPrefix(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if len(s) >= len(p) && s[:len(p)] == p {
			return true
		}
	}
	return false
}
