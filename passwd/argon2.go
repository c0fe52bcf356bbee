package passwd

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Bounds on the parameters of hashes we accept, so that a hash in a config
// file cannot make every verification take gigabytes or minutes.
const (
	maxMemoryKiB = 1 << 20 // 1 GiB
	maxPasses    = 64
	maxLanes     = 64
	minSaltLen   = 8
	minKeyLen    = 16
	maxKeyLen    = 128
)

// argonParams is a parsed argon2id PHC string.
type argonParams struct {
	memory  uint32
	time    uint32
	threads uint8
	salt    []byte
	key     []byte
}

// String formats p as a PHC string.
func (p argonParams) String() string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		p.memory, p.time, p.threads, b64.EncodeToString(p.salt), b64.EncodeToString(p.key))
}

// parseArgon2id parses and bounds-checks an argon2id PHC string.
func parseArgon2id(hash string) (argonParams, error) {
	var p argonParams
	f := strings.Split(hash, "$")
	if len(f) != 6 || f[0] != "" || f[1] != "argon2id" {
		return p, fmt.Errorf("passwd: not an argon2id or bcrypt hash: %w", ErrMalformed)
	}
	if f[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, fmt.Errorf("passwd: argon2id: unsupported version: %w", ErrMalformed)
	}
	if err := p.parseParams(f[3]); err != nil {
		return p, err
	}
	var err error
	if p.salt, err = base64.RawStdEncoding.Strict().DecodeString(f[4]); err != nil || len(p.salt) < minSaltLen {
		return p, fmt.Errorf("passwd: argon2id: bad salt: %w", ErrMalformed)
	}
	p.key, err = base64.RawStdEncoding.Strict().DecodeString(f[5])
	if err != nil || len(p.key) < minKeyLen || len(p.key) > maxKeyLen {
		return p, fmt.Errorf("passwd: argon2id: bad hash value: %w", ErrMalformed)
	}
	return p, nil
}

// parseParams parses "m=...,t=...,p=..." in that order.
func (p *argonParams) parseParams(s string) error {
	kv := strings.Split(s, ",")
	if len(kv) != 3 {
		return fmt.Errorf("passwd: argon2id: bad parameters: %w", ErrMalformed)
	}
	m, errM := paramValue(kv[0], "m=", maxMemoryKiB)
	t, errT := paramValue(kv[1], "t=", maxPasses)
	l, errP := paramValue(kv[2], "p=", maxLanes)
	if errM != nil || errT != nil || errP != nil || t < 1 || l < 1 || m < 8*l {
		return fmt.Errorf("passwd: argon2id: bad parameters: %w", ErrMalformed)
	}
	p.memory, p.time, p.threads = uint32(m), uint32(t), uint8(l)
	return nil
}

// paramValue parses one "k=N" parameter with 0 <= N <= limit.
func paramValue(s, prefix string, limit uint64) (uint64, error) {
	v, ok := strings.CutPrefix(s, prefix)
	if !ok {
		return 0, ErrMalformed
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil || n > limit {
		return 0, ErrMalformed
	}
	return n, nil
}
