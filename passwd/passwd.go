// Package passwd hashes and verifies the passwords that sealgate's clients
// use for SMTP AUTH.
//
// New hashes are argon2id (RFC 9106) in the PHC string format
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// with salt and hash in unpadded standard base64. The parameters are the
// OWASP recommendation for argon2id (19 MiB of memory, two passes, one lane,
// 16-byte salt, 32-byte key): a verification takes roughly 20-50 ms on a
// current server core and holds 19 MiB while it runs, which keeps a burst of
// concurrent AUTH attempts from exhausting memory.
//
// Verify also accepts bcrypt hashes ($2a$, $2b$, $2y$), so hashes made by
// htpasswd or other tools keep working. Passwords and hashes never appear in
// the errors this package returns.
package passwd

import (
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Parameters of the hashes that Hash makes.
const (
	memoryKiB = 19 * 1024
	passes    = 2
	lanes     = 1
	saltLen   = 16
	keyLen    = 32
)

// ErrMalformed is returned (wrapped) for a hash string that is neither a
// well-formed argon2id PHC string nor a bcrypt hash.
var ErrMalformed = errors.New("malformed password hash")

// ErrEmpty is returned by Hash for an empty password.
var ErrEmpty = errors.New("empty password")

// Hash returns an argon2id PHC string for password, with a fresh random salt.
func Hash(password []byte) (string, error) {
	if len(password) == 0 {
		return "", ErrEmpty
	}
	p := argonParams{memory: memoryKiB, time: passes, threads: lanes}
	p.salt = make([]byte, saltLen)
	if _, err := rand.Read(p.salt); err != nil {
		return "", fmt.Errorf("passwd: reading random salt: %w", err)
	}
	p.key = argon2.IDKey(password, p.salt, p.time, p.memory, p.threads, keyLen)
	return p.String(), nil
}

// Verify reports whether password matches hash, an argon2id PHC string or a
// bcrypt hash. A wrong password is (false, nil); an error means the hash
// itself is unusable. The comparison is constant-time.
func Verify(hash string, password []byte) (bool, error) {
	if isBcrypt(hash) {
		err := bcrypt.CompareHashAndPassword([]byte(hash), password)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
			return false, nil
		default:
			return false, fmt.Errorf("passwd: bcrypt: %w", ErrMalformed)
		}
	}
	p, err := parseArgon2id(hash)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey(password, p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
	return subtle.ConstantTimeCompare(got, p.key) == 1, nil
}

// Valid returns nil if hash is a usable argon2id PHC string or bcrypt hash,
// and an error wrapping ErrMalformed otherwise. It does not verify anything
// and is cheap; config validation uses it.
func Valid(hash string) error {
	if isBcrypt(hash) {
		if _, err := bcrypt.Cost([]byte(hash)); err != nil || len(hash) != 60 {
			return fmt.Errorf("passwd: bcrypt: %w", ErrMalformed)
		}
		return nil
	}
	_, err := parseArgon2id(hash)
	return err
}

// isBcrypt reports whether hash has one of the bcrypt prefixes we accept.
func isBcrypt(hash string) bool {
	if len(hash) < 4 || hash[0] != '$' || hash[1] != '2' || hash[3] != '$' {
		return false
	}
	switch hash[2] {
	case 'a', 'b', 'y':
		return true
	}
	return false
}
