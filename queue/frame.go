package queue

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
)

// Record kinds in a segment.
const (
	kindMsg   byte = 'M' // envelope and body, written once when accepted
	kindState byte = 'S' // per-recipient state, replaces the previous one
	kindDone  byte = 'D' // the message is finished: nothing of it is needed
)

// frameMagic starts every record; the digit is the format version.
const frameMagic = "SG2"

// headerLen is magic (3) + kind (1) + raw queue ID (12) + payload length (4).
const headerLen = 3 + 1 + 12 + 4

// maxPayload bounds one record, so a corrupt length cannot ask for more.
const maxPayload = 1 << 30

var errFrame = errors.New("bad spool record")

// frame encodes one record: header then the encrypted payload. The kind and
// ID are part of the payload's associated data, so a record cannot be
// replayed as another kind or for another message.
func (s *spoolCrypt) frame(kind byte, id string, plain []byte) ([]byte, error) {
	raw, err := hex.DecodeString(id)
	if err != nil || len(raw) != 12 {
		return nil, errFrame
	}
	ct := s.encrypt(recordAAD(kind, id), plain)
	out := make([]byte, headerLen, headerLen+len(ct))
	copy(out, frameMagic)
	out[3] = kind
	copy(out[4:16], raw)
	binary.BigEndian.PutUint32(out[16:20], uint32(len(ct)))
	return append(out, ct...), nil
}

// header is a decoded record header.
type header struct {
	kind byte
	id   string
	n    int // encrypted payload length
}

func parseHeader(b []byte) (header, error) {
	if len(b) < headerLen || string(b[:3]) != frameMagic {
		return header{}, errFrame
	}
	h := header{kind: b[3], id: hex.EncodeToString(b[4:16]), n: int(binary.BigEndian.Uint32(b[16:20]))}
	switch {
	case h.kind != kindMsg && h.kind != kindState && h.kind != kindDone:
		return header{}, errFrame
	case h.n > maxPayload:
		return header{}, errFrame
	}
	return h, nil
}

func recordAAD(kind byte, id string) []byte {
	return []byte("sealgate spool v2 " + string(kind) + " " + id)
}
