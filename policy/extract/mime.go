package extract

import "bytes"

// IsMessage reports a whole MIME message sent as a plain attachment (a forward
// saved as a file without its .eml name): a header block of fields, with Content-Type
// and MIME-Version, then a body. It is walked as a message, so that the attachments it
// carries are decoded and read instead of being seen as base64 text.
func IsMessage(mt string, data []byte) bool {
	if mt != "" && mt != "application/octet-stream" && mt != "text/plain" {
		return false
	}
	head := data[:min(len(data), 64<<10)]
	end := bytes.Index(head, []byte("\n\r\n"))
	if e := bytes.Index(head, []byte("\n\n")); e >= 0 && (end < 0 || e < end) {
		end = e
	}
	if end <= 0 {
		return false
	}
	lower := bytes.ToLower(head[:end])
	if !bytes.Contains(lower, []byte("content-type:")) || !bytes.Contains(lower, []byte("mime-version:")) {
		return false
	}
	for _, line := range bytes.Split(head[:end], []byte("\n")) {
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 || line[0] == ' ' || line[0] == '\t' {
			continue // folded continuation
		}
		k := bytes.IndexByte(line, ':')
		if k <= 0 || bytes.ContainsAny(line[:k], " \t") {
			return false
		}
	}
	return true
}

// pkcs7SignedData is the DER encoding of the PKCS #7 signedData OID, 1.2.840.113549.1.7.2.
var pkcs7SignedData = []byte("\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02")

// IsSignature reports a detached S/MIME or PGP signature, by its type and its bytes: a
// part merely labelled as a signature is read like any other.
func IsSignature(mt string, data []byte) bool {
	switch mt {
	case "application/pkcs7-signature", "application/x-pkcs7-signature":
		return len(data) < 256<<10 && len(data) > 2 && data[0] == 0x30 &&
			bytes.Contains(data[:min(len(data), 32)], pkcs7SignedData)
	case "application/pgp-signature":
		t := bytes.TrimSpace(data)
		return len(t) < 16<<10 && bytes.HasPrefix(t, []byte("-----BEGIN PGP SIGNATURE-----")) &&
			bytes.HasSuffix(t, []byte("-----END PGP SIGNATURE-----")) && bytes.Count(t, []byte("-----BEGIN")) == 1
	}
	return false
}
