package identity_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/identity"
)

// checkChar computes the GB 11643-1999 check character its own way (the
// weights as 2^(17-i) mod 11, not a table), so that the tests do not check
// the code against itself.
func checkChar(first17 string) string {
	sum := 0
	for i := range 17 {
		w := 1
		for range 17 - i {
			w = w * 2 % 11
		}
		sum += int(first17[i]-'0') * w
	}
	return string("10X98765432"[sum%11])
}

// validID returns a well-formed number for region, birth (YYYYMMDD) and a
// three-digit sequence, with its check character computed.
func validID(region, birth, seq string) string {
	s := region + birth + seq
	return s + checkChar(s)
}

// idWithX is a valid number whose check character is X.
func idWithX(t testing.TB) string {
	for seq := range 1000 {
		if id := validID("110101", "19900307", fmt.Sprintf("%03d", seq)); id[17] == 'X' {
			return id
		}
	}
	t.Fatal("no sequence gives X")
	return ""
}

// otherCheck replaces the check character with a wrong one.
func otherCheck(id string) string {
	for _, c := range "0123456789X" {
		if byte(c) != id[17] {
			return id[:17] + string(c)
		}
	}
	panic("unreachable")
}

// idNow is the clock of the ID tests: 20:00 UTC is already 2 March in
// China.
var idNow = time.Date(2025, 3, 1, 20, 0, 0, 0, time.UTC)

func TestIDCardChecksumKnownExamples(t *testing.T) {
	// The worked example of GB 11643-1999 and a commonly cited sample
	// (born 1880, so only its check character is used).
	for first17, want := range map[string]string{
		"11010519491231002": "X",
		"44052418800101001": "4",
	} {
		if got := checkChar(first17); got != want {
			t.Errorf("checkChar(%s) = %s, want %s", first17, got, want)
		}
	}
	if _, err := identity.ParseIDNumber("11010519491231002X", idNow); err != nil {
		t.Errorf("ParseIDNumber(11010519491231002X): %v", err)
	}
	_, err := identity.ParseIDNumber("11010519491231002"+"0", idNow)
	if yuncan.ErrorReason(err) != "id_number_checksum" {
		t.Errorf("ParseIDNumber with 0 for X: %v", err)
	}
}

func TestIDCardValid(t *testing.T) {
	x := idWithX(t)
	for _, tc := range []struct{ name, in, want string }{
		{"beijing", validID("110101", "19900307", "123"), ""},
		{"check X", x, ""},
		{"lower-case x", strings.ToLower(x), x},
		{"spaces around", "  " + validID("440524", "19800101", "001") + "\t", validID("440524", "19800101", "001")},
		{"full-width digits", toFullWidth(validID("320102", "20000229", "456")), validID("320102", "20000229", "456")},
		{"leap day", validID("320102", "20000229", "456"), ""},
		{"born today in China", validID("510104", "20250302", "789"), ""},
		{"born 1900", validID("650102", "19000101", "001"), ""},
		{"hong kong permit", validID("810000", "19851010", "002"), ""},
		{"macao permit", validID("820000", "19851010", "002"), ""},
		{"taiwan permit", validID("830000", "19851010", "002"), ""},
		{"taiwan", validID("710000", "19851010", "002"), ""},
		{"foreigner", validID("911100", "19851010", "002"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want
			if want == "" {
				want = tc.in
			}
			got, err := identity.ParseIDNumber(tc.in, idNow)
			if err != nil {
				t.Fatalf("ParseIDNumber: %v", err)
			}
			if string(got) != want {
				t.Errorf("ParseIDNumber = %q, want %q", string(got), want)
			}
			if got.BirthDate().Format("20060102") != want[6:14] {
				t.Errorf("BirthDate = %v", got.BirthDate())
			}
		})
	}
	// Every province code the standard lists is accepted.
	for _, p := range []string{"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
		"41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82", "83", "91"} {
		if _, err := identity.ParseIDNumber(validID(p+"0101", "19900307", "123"), idNow); err != nil {
			t.Errorf("province %s refused: %v", p, err)
		}
	}
}

func toFullWidth(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return '０' + (r - '0')
		}
		if r == 'X' {
			return 'Ｘ'
		}
		return r
	}, s)
}

func TestIDCardInvalid(t *testing.T) {
	good := validID("110101", "19900307", "123")
	for _, tc := range []struct{ name, in, reason string }{
		{"empty", "", "invalid_id_number"},
		{"blank", "   ", "invalid_id_number"},
		{"wrong check character", otherCheck(good), "id_number_checksum"},
		{"two digits swapped", good[:14] + good[15:16] + good[14:15] + good[16:], "id_number_checksum"},
		{"15-digit first generation", "110101900307123", "id_number_old_format"},
		{"17 characters", good[:17], "invalid_id_number"},
		{"19 characters", good + "0", "invalid_id_number"},
		{"X inside", good[:5] + "X" + good[6:], "invalid_id_number"},
		{"letter at the end", good[:17] + "A", "invalid_id_number"},
		{"dashes", good[:6] + "-" + good[6:14] + "-" + good[14:], "invalid_id_number"},
		{"inner space", good[:6] + " " + good[6:], "invalid_id_number"},
		{"very long", strings.Repeat("1", 1000), "invalid_id_number"},
		{"30 February", validID("110101", "19900230", "123"), "id_number_birth_date"},
		{"month 13", validID("110101", "19901301", "123"), "id_number_birth_date"},
		{"day 00", validID("110101", "19900100", "123"), "id_number_birth_date"},
		{"29 February of a common year", validID("110101", "19000229", "123"), "id_number_birth_date"},
		{"born tomorrow in China", validID("110101", "20250303", "123"), "id_number_birth_date"},
		{"far future", validID("110101", "20991231", "123"), "id_number_birth_date"},
		{"before 1900", validID("110101", "18991231", "123"), "id_number_birth_date"},
		{"province 00", validID("000101", "19900307", "123"), "id_number_region"},
		{"province 10", validID("100101", "19900307", "123"), "id_number_region"},
		{"province 16", validID("160101", "19900307", "123"), "id_number_region"},
		{"province 24", validID("240101", "19900307", "123"), "id_number_region"},
		{"province 38", validID("380101", "19900307", "123"), "id_number_region"},
		{"province 47", validID("470101", "19900307", "123"), "id_number_region"},
		{"province 55", validID("550101", "19900307", "123"), "id_number_region"},
		{"province 66", validID("660101", "19900307", "123"), "id_number_region"},
		{"province 72", validID("720101", "19900307", "123"), "id_number_region"},
		{"province 84", validID("840101", "19900307", "123"), "id_number_region"},
		{"province 90", validID("900101", "19900307", "123"), "id_number_region"},
		{"province 92", validID("920101", "19900307", "123"), "id_number_region"},
		{"province 99", validID("990101", "19900307", "123"), "id_number_region"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := identity.ParseIDNumber(tc.in, idNow)
			if yuncan.ErrorCode(err) != yuncan.Invalid || yuncan.ErrorReason(err) != tc.reason {
				t.Fatalf("ParseIDNumber(%q) error %v; want invalid/%s", tc.in, err, tc.reason)
			}
			e := yuncan.AsError(err)
			if e.Fields["id_number"] == "" {
				t.Errorf("error does not name the id_number field: %+v", e.Fields)
			}
			// The error never repeats the number, or a telling part of it.
			if len(tc.in) >= 18 && strings.Contains(err.Error(), tc.in[6:14]) {
				t.Errorf("error %q repeats part of the number", err)
			}
		})
	}
}

func TestIDNumberMasked(t *testing.T) {
	id, err := identity.ParseIDNumber("11010519491231002X", idNow)
	if err != nil {
		t.Fatal(err)
	}
	const want = "1101**********002X"
	if got := id.Masked(); got != want {
		t.Errorf("Masked = %q, want %q", got, want)
	}
	// Printing and logging never show the number.
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "id", id)
	for what, s := range map[string]string{
		"%v": fmt.Sprintf("%v", id),
		//lint:ignore S1025 the %s verb itself is under test.
		"%s": fmt.Sprintf("%s", id), "String": id.String(), "slog": logged.String(),
	} {
		if strings.Contains(s, "19491231") {
			t.Errorf("%s shows the number: %q", what, s)
		}
	}
	for in, want := range map[string]string{
		"110101199003071234":  "1101**********1234",
		"":                    "******************",
		"12345":               "******************",
		"1101011990030712345": "******************",
	} {
		if got := identity.MaskIDNumber(in); got != want {
			t.Errorf("MaskIDNumber(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzParseIDNumber checks that the validator never panics and that what
// it accepts is really a well-formed number, in its normal form.
func FuzzParseIDNumber(f *testing.F) {
	for _, s := range []string{
		validID("110101", "19900307", "123"), "11010519491231002x", "110101900307123", "", "ｘ",
		toFullWidth(validID("440524", "19800101", "001")), validID("110101", "19900230", "123"), "\xff\xfe",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := identity.ParseIDNumber(s, idNow)
		if err != nil {
			if yuncan.ErrorCode(err) != yuncan.Invalid {
				t.Fatalf("ParseIDNumber(%q) error code %q, want invalid", s, yuncan.ErrorCode(err))
			}
			return
		}
		n := string(id)
		if len(n) != 18 || strings.Trim(n[:17], "0123456789") != "" || checkChar(n[:17]) != n[17:] {
			t.Fatalf("ParseIDNumber(%q) accepted %q", s, n)
		}
		if b := id.BirthDate(); b.IsZero() || b.Year() < 1900 || b.After(idNow.Add(24*time.Hour)) {
			t.Fatalf("ParseIDNumber(%q) accepted birth date %v", s, b)
		}
		if again, err := identity.ParseIDNumber(n, idNow); err != nil || again != id {
			t.Fatalf("the normal form %q does not parse to itself: %q, %v", n, again, err)
		}
		if m := id.Masked(); len(m) != 18 || m[:4] != n[:4] || m[14:] != n[14:] || m[4:14] != strings.Repeat("*", 10) {
			t.Fatalf("Masked(%q) = %q", n, m)
		}
	})
}
