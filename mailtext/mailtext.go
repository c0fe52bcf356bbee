// Package mailtext holds what every part of sealgate that reads or writes a
// message's text must agree on, starting with its line endings. It is a
// leaf: it imports no other package of sealgate.
package mailtext

// ToCRLF returns b with every bare LF turned into CRLF (a CR already
// before an LF is kept, a lone CR is left alone). It returns b itself when
// there is nothing to change.
func ToCRLF(b []byte) []byte {
	bare := 0
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			bare++
		}
	}
	if bare == 0 {
		return b
	}
	out := make([]byte, 0, len(b)+bare)
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}
