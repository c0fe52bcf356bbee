package passwd

import (
	"crypto/rand"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Dummy returns the hash of a random password that nobody knows, made
// with the same algorithm and cost as like: the argon2id parameters (memory,
// passes, lanes, salt and key length) of an argon2id hash, or the cost of
// a bcrypt hash. Checking an unknown user's password against it runs the
// same work as checking a known user's against like, so the time of a
// failed login does not tell whether the user exists. A like that is not
// a usable hash gives an argon2id hash with Hash's parameters.
func Dummy(like string) string {
	secret := make([]byte, 32)
	rand.Read(secret)
	if isBcrypt(like) {
		if cost, err := bcrypt.Cost([]byte(like)); err == nil {
			// bcrypt reads at most 72 bytes of password; 32 random bytes
			// are within that.
			if h, err := bcrypt.GenerateFromPassword(secret, cost); err == nil {
				return string(h)
			}
		}
	}
	p, err := parseArgon2id(like)
	if err != nil {
		p = argonParams{memory: memoryKiB, time: passes, threads: lanes, salt: make([]byte, saltLen), key: make([]byte, keyLen)}
	}
	salt := make([]byte, len(p.salt))
	rand.Read(salt)
	p.salt = salt
	// The key is computed, not made up, so the hash is an ordinary one.
	p.key = argon2.IDKey(secret, p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
	return p.String()
}

// SameCost reports whether two hashes are of the same algorithm with the
// same cost parameters (for tests and diagnostics; never compares the
// hash values).
func SameCost(a, b string) bool {
	if isBcrypt(a) || isBcrypt(b) {
		ca, errA := bcrypt.Cost([]byte(a))
		cb, errB := bcrypt.Cost([]byte(b))
		return isBcrypt(a) && isBcrypt(b) && errA == nil && errB == nil && ca == cb
	}
	pa, errA := parseArgon2id(a)
	pb, errB := parseArgon2id(b)
	return errA == nil && errB == nil && pa.memory == pb.memory && pa.time == pb.time &&
		pa.threads == pb.threads && len(pa.salt) == len(pb.salt) && len(pa.key) == len(pb.key)
}
