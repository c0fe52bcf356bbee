package passwd

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// refArgon2id is the argon2id test vector of the reference implementation
// (phc-winner-argon2 src/test.c: "password", "somesalt", t=2, m=64 MiB, p=1,
// hash 09316115d5cf24ed5a15a31a3ba326e5cf32edc24702987c02b6566f61913cf7).
const refArgon2id = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"

func TestHashVerifyRoundTrip(t *testing.T) {
	t.Parallel()
	h, err := Hash([]byte("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("unexpected hash format %q", h)
	}
	if err := Valid(h); err != nil {
		t.Errorf("Valid(own hash) = %v", err)
	}
	ok, err := Verify(h, []byte("correct horse"))
	if err != nil || !ok {
		t.Errorf("Verify(right password) = %v, %v", ok, err)
	}
	ok, err = Verify(h, []byte("correct horsf"))
	if err != nil || ok {
		t.Errorf("Verify(wrong password) = %v, %v", ok, err)
	}
}

func TestHashSaltsDiffer(t *testing.T) {
	t.Parallel()
	a, errA := Hash([]byte("pw"))
	b, errB := Hash([]byte("pw"))
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	if a == b {
		t.Error("two hashes of the same password are equal; salt not random")
	}
}

func TestHashEmpty(t *testing.T) {
	t.Parallel()
	if _, err := Hash(nil); !errors.Is(err, ErrEmpty) {
		t.Errorf("Hash(empty) err = %v, want ErrEmpty", err)
	}
}

func TestVerifyReferenceVector(t *testing.T) {
	t.Parallel()
	if err := Valid(refArgon2id); err != nil {
		t.Fatalf("Valid = %v", err)
	}
	for pw, want := range map[string]bool{"password": true, "Password": false, "": false} {
		ok, err := Verify(refArgon2id, []byte(pw))
		if err != nil || ok != want {
			t.Errorf("Verify(%q) = %v, %v; want %v", pw, ok, err, want)
		}
	}
}

func TestVerifyBcrypt(t *testing.T) {
	t.Parallel()
	h, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	// The same hash under the three prefixes that bcrypt implementations use.
	for _, prefix := range []string{"$2a$", "$2b$", "$2y$"} {
		hash := prefix + string(h[4:])
		if err := Valid(hash); err != nil {
			t.Errorf("Valid(%s...) = %v", prefix, err)
		}
		ok, err := Verify(hash, []byte("s3cret"))
		if err != nil || !ok {
			t.Errorf("Verify(%s..., right) = %v, %v", prefix, ok, err)
		}
		ok, err = Verify(hash, []byte("s3creT"))
		if err != nil || ok {
			t.Errorf("Verify(%s..., wrong) = %v, %v", prefix, ok, err)
		}
	}
}

func TestMalformed(t *testing.T) {
	t.Parallel()
	bad := []string{
		"",
		"plaintext-password",
		"$argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"$argon2id$v=16$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"$argon2id$v=19$m=65536,t=2$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"$argon2id$v=19$t=2,m=65536,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"$argon2id$v=19$m=99999999,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"$argon2id$v=19$m=65536,t=0,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"$argon2id$v=19$m=65536,t=2,p=0$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"$argon2id$v=19$m=65536,t=2,p=1$c29t$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$!!!notbase64",
		"$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXP",
		"$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc$",
		"$2a$10$tooshort",
		"$2x$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"$2a$99$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
	}
	for _, h := range bad {
		if err := Valid(h); !errors.Is(err, ErrMalformed) {
			t.Errorf("Valid(%q) = %v, want ErrMalformed", h, err)
		}
		ok, err := Verify(h, []byte("password"))
		if ok || err == nil {
			t.Errorf("Verify(%q) = %v, %v; want false and an error", h, ok, err)
		}
	}
}

func TestErrorsCarryNoSecret(t *testing.T) {
	t.Parallel()
	const secret = "c29tZXNhbHQ"
	err := Valid("$argon2id$v=19$m=65536,t=2,p=1$" + secret + "$short")
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("error %v must exist and not echo the hash", err)
	}
}

// BenchmarkVerify measures one argon2id verification with the parameters
// Hash uses (documented as roughly 20-50 ms).
func BenchmarkVerify(b *testing.B) {
	h, err := Hash([]byte("benchmark password"))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if ok, err := Verify(h, []byte("benchmark password")); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// TestDummyCostsTheSame: the dummy for unknown users has the algorithm
// and parameters of the hash it stands beside, and no password matches it.
func TestDummyCostsTheSame(t *testing.T) {
	argon, err := Hash([]byte("a real password"))
	if err != nil {
		t.Fatal(err)
	}
	custom := "$argon2id$v=19$m=8192,t=3,p=2$c2FsdHNhbHRzYWx0$" + "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI"
	bc, _ := bcrypt.GenerateFromPassword([]byte("x"), 5)
	for _, like := range []string{argon, custom, string(bc), "not a hash"} {
		d := Dummy(like)
		want := like
		if like == "not a hash" {
			want = argon
		}
		if !SameCost(d, want) || d == like {
			t.Errorf("Dummy(%.20s…) = %.40s…, not the same cost", like, d)
		}
		if ok, err := Verify(d, []byte("")); ok || err != nil {
			t.Errorf("dummy verified or failed: %v %v", ok, err)
		}
	}
	if SameCost(argon, custom) || SameCost(argon, string(bc)) {
		t.Error("SameCost does not tell parameters apart")
	}
}
