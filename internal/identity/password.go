package identity

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/yuncan/yuncan"
)

// Argon2id parameters, after OWASP's password storage cheat sheet (m=19 MiB,
// t=2, p=1): slow enough to make guessing costly, small enough that a
// 2-core machine takes a burst of logins. They are written into each hash,
// so raising them later keeps old hashes valid.
const (
	argonMemoryKiB = 19 * 1024
	argonTime      = 2
	argonThreads   = 1
	argonKeyLen    = 32
	argonSaltLen   = 16
)

// Password rules (P53): at least MinPassword characters from at least three
// of lower case, upper case, digits and symbols, or at least
// MinPassphrase characters of any kind; never a well-known password.
const (
	MinPassword   = 8
	MinPassphrase = 16
	MaxPassword   = 128
)

var commonPasswords = map[string]bool{
	"password1!": true, "Password1": true, "Password1!": true, "Passw0rd!": true, "P@ssw0rd": true,
	"Qwerty123!": true, "Abc12345!": true, "Aa123456": true, "Aa123456!": true, "Admin123!": true,
	"Welcome1!": true, "Iloveyou1!": true, "1qaz@WSX": true, "1qaz!QAZ": true, "Woaini1314!": true,
}

// CheckPasswordStrength returns an Invalid error when pw is too weak.
func CheckPasswordStrength(pw string) error {
	n := utf8.RuneCountInString(pw)
	if n > MaxPassword {
		return yuncan.FieldError("password", "is longer than 128 characters").WithReason("weak_password")
	}
	var lower, upper, digit, other bool
	for _, r := range pw {
		switch {
		case unicode.IsLower(r):
			lower = true
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsDigit(r):
			digit = true
		case unicode.IsControl(r):
			return yuncan.FieldError("password", "contains control characters").WithReason("weak_password")
		default:
			other = true
		}
	}
	classes := 0
	for _, b := range []bool{lower, upper, digit, other} {
		if b {
			classes++
		}
	}
	if n < MinPassphrase && (n < MinPassword || classes < 3) {
		return yuncan.FieldError("password", "needs at least 8 characters from three of: lower case, upper case, digits, symbols (or 16 characters of any kind)").WithReason("weak_password")
	}
	if commonPasswords[pw] {
		return yuncan.FieldError("password", "is a well-known password").WithReason("weak_password")
	}
	return nil
}

// HashPassword returns an argon2id hash in the PHC string format.
func HashPassword(pw string) string {
	salt := make([]byte, argonSaltLen)
	rand.Read(salt)
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemoryKiB, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// VerifyPassword reports whether pw matches a hash made by HashPassword.
func VerifyPassword(hash, pw string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var v int
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 || m > 1<<20 || t > 16 {
		return false
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}
