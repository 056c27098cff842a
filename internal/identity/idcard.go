package identity

import (
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/yuncan/yuncan"
)

// IDNumber is an 18-character mainland resident identity card number (GB
// 11643-1999) that ParseIDNumber accepted. It never prints itself: String
// and LogValue give the masked form, so that %v and slog cannot leak it;
// string(n) is the number, for the certifier and the keyring only.
type IDNumber string

// String returns the masked number.
func (n IDNumber) String() string { return n.Masked() }

// LogValue keeps ID numbers out of logs.
func (n IDNumber) LogValue() slog.Value { return slog.StringValue("[id_number]") }

// Masked returns the number as the service shows it (P10): the first four
// and the last four characters, the ten between as stars:
// 1101**********1234. A value that is not 18 bytes long masks whole.
func (n IDNumber) Masked() string { return MaskIDNumber(string(n)) }

// MaskIDNumber masks an ID number as IDNumber.Masked does.
func MaskIDNumber(s string) string {
	if len(s) != 18 || !utf8.ValidString(s) {
		return strings.Repeat("*", 18)
	}
	return s[:4] + strings.Repeat("*", 10) + s[14:]
}

// BirthDate is the date of birth the number holds (as a UTC midnight).
func (n IDNumber) BirthDate() time.Time {
	d, _ := time.Parse("20060102", string(n)[6:14])
	return d
}

// idWeights are the ISO 7064 MOD 11-2 weights of the first 17 digits
// (2^(17-i) mod 11); idCheck maps the weighted sum mod 11 to the check
// character.
var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

const idCheck = "10X98765432"

// idCheckChar returns the check character of 17 digits.
func idCheckChar(first17 string) byte {
	sum := 0
	for i := range 17 {
		sum += int(first17[i]-'0') * idWeights[i]
	}
	return idCheck[sum%11]
}

// idProvinces are the first two digits of the region codes in use (GB/T
// 2260): the provinces, autonomous regions and municipalities; 71 Taiwan,
// 81 Hong Kong, 82 Macao (residence permits), 83 Taiwan residence
// permits, and 91 for foreigners' permanent residence cards.
var idProvinces = map[string]bool{
	"11": true, "12": true, "13": true, "14": true, "15": true,
	"21": true, "22": true, "23": true,
	"31": true, "32": true, "33": true, "34": true, "35": true, "36": true, "37": true,
	"41": true, "42": true, "43": true, "44": true, "45": true, "46": true,
	"50": true, "51": true, "52": true, "53": true, "54": true,
	"61": true, "62": true, "63": true, "64": true, "65": true,
	"71": true, "81": true, "82": true, "83": true, "91": true,
}

// idNumberError is an Invalid error about the id_number field. Its
// messages are fixed: no part of the number ever goes into an error.
func idNumberError(reason, problem string) *yuncan.Error {
	return yuncan.FieldError("id_number", problem).WithReason(reason)
}

// ParseIDNumber checks s as an 18-character resident ID number: 17 digits
// and a check character (a digit or X) that satisfies ISO 7064 MOD 11-2, a
// real province code, and a birth date that exists, is not before 1900
// and not after today in China (now's date there). Spaces around it are
// dropped, a lower-case x and full-width digits (from a Chinese input
// method) are accepted. The 15-digit first-generation numbers, without a
// check character, are refused (reason id_number_old_format). Other
// refusals: invalid_id_number (length, characters), id_number_checksum,
// id_number_region, id_number_birth_date.
func ParseIDNumber(s string, now time.Time) (IDNumber, error) {
	s = strings.TrimSpace(s)
	if len(s) > 64 { // 18 full-width characters are 54 bytes
		return "", idNumberError("invalid_id_number", "must be the 18 characters of a resident ID number")
	}
	s = strings.Map(func(r rune) rune {
		switch {
		case r >= '０' && r <= '９':
			return '0' + (r - '０')
		case r == 'x' || r == 'Ｘ' || r == 'ｘ':
			return 'X'
		}
		return r
	}, s)
	if s == "" {
		return "", idNumberError("invalid_id_number", "is required")
	}
	if len(s) == 15 && isDigits(s) {
		return "", idNumberError("id_number_old_format",
			"is a 15-digit first-generation ID number, which is no longer accepted; give the 18-character number of a second-generation ID card")
	}
	if len(s) != 18 || !isDigits(s[:17]) || !(isDigits(s[17:]) || s[17] == 'X') {
		return "", idNumberError("invalid_id_number", "must be 17 digits and a check digit or X")
	}
	if idCheckChar(s) != s[17] {
		return "", idNumberError("id_number_checksum", "has a wrong check character; check the number for typing mistakes")
	}
	if !idProvinces[s[:2]] {
		return "", idNumberError("id_number_region", "does not begin with a province code")
	}
	birth, err := time.Parse("20060102", s[6:14])
	if err != nil {
		return "", idNumberError("id_number_birth_date", "holds a birth date that does not exist")
	}
	y, m, d := now.In(chinaTime).Date()
	if birth.After(time.Date(y, m, d, 0, 0, 0, 0, time.UTC)) {
		return "", idNumberError("id_number_birth_date", "holds a birth date in the future")
	}
	if birth.Year() < 1900 {
		return "", idNumberError("id_number_birth_date", "holds a birth date before 1900")
	}
	return IDNumber(s), nil
}
