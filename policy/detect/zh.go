package detect

import (
	"bytes"
	"fmt"
	"strings"
)

// zhTerm is one Chinese term and the detector or cue group it counts for.
type zhTerm struct {
	term []byte
	id   ID
}

// loadZH reads data/zh.txt.
func loadZH() ([]zhTerm, error) {
	data, err := dataFS.ReadFile("data/zh.txt")
	if err != nil {
		return nil, fmt.Errorf("vocabulary zh.txt: %w", err)
	}
	byName := map[string]ID{}
	for id := ID(0); id < NumIDs; id++ {
		byName[id.String()] = id
	}
	var out []zhTerm
	var bad string
	eachLine(data, func(line string) {
		name, term, ok := strings.Cut(line, " ")
		id, known := byName[name]
		if !ok || !known || term == "" {
			bad = line
			return
		}
		out = append(out, zhTerm{term: []byte(term), id: id})
	})
	if bad != "" {
		return nil, fmt.Errorf("vocabulary zh.txt: bad line %q", bad)
	}
	return out, nil
}

// chinese counts the Chinese terms in seg. Chinese has no spaces between words, so the
// terms are found as substrings. The tokenizer tells whether seg holds a UTF-8 lead byte
// of the CJK blocks; without one no term can match.
func (s *scanner) chinese(seg []byte) {
	for _, t := range s.v.zh {
		if n := bytes.Count(seg, t.term); n > 0 {
			s.out[t.id] += int32(n)
		}
	}
}
