package identity

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/yuncan/yuncan"
)

func TestParsePhone(t *testing.T) {
	t.Parallel()
	valid := []struct{ in, want string }{
		{"13800138000", "+8613800138000"},
		{"138 0013 8000", "+8613800138000"},
		{"+86 138-0013-8000", "+8613800138000"},
		{"+86 (138) 0013 8000", "+8613800138000"},
		{"008613800138000", "+8613800138000"},
		{"  +8613800138000\t", "+8613800138000"},
		{"13800138000" + strings.Repeat(" ", 40), "+8613800138000"}, // trimmed before the length check
		{"１３８００１３８０００", "+8613800138000"},                           // full-width digits from a Chinese IME
		{"17012345678", "+8617012345678"},
		{"19912345678", "+8619912345678"},
		{"+85291234567", "+85291234567"},   // Hong Kong mobile
		{"+447911123456", "+447911123456"}, // UK mobile
		{"+14155552671", "+14155552671"},   // US numbers may be either kind
		{"+886912345678", "+886912345678"}, // Taiwan mobile
		{"+86 199 1234 5678", "+8619912345678"},
	}
	for _, tc := range valid {
		got, err := ParsePhone(tc.in)
		if err != nil || string(got) != tc.want {
			t.Errorf("ParsePhone(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}

	invalid := []struct{ in, reason string }{
		{"", "invalid"}, // required, no more specific reason
		{"   ", "invalid"},
		{"abc", "invalid_phone"},
		{"138abcd8000", "invalid_phone"}, // letters are not keypad digits here
		{"1380013800a", "invalid_phone"},
		{"+86 138 OO13 8000", "invalid_phone"},
		{"13800138000 ext. 12", "invalid_phone"},
		{"13800138000;ext=1", "invalid_phone"},
		{"13800138000#12", "invalid_phone"},
		{"tel:+86-138-0013-8000", "invalid_phone"},
		{"12345", "invalid_phone"},
		{"1380013800", "invalid_phone"},           // one digit short
		{"138001380001", "invalid_phone"},         // one digit long
		{"+861012345678", "invalid_phone"},        // Beijing landline
		{"010-65529988", "invalid_phone"},         // Beijing landline, national form
		{"+8602165529988", "invalid_phone"},       // Shanghai landline
		{"4001234567", "invalid_phone"},           // 400 service number
		{"+442079460958", "invalid_phone"},        // London landline
		{"+999123456", "invalid_phone"},           // no such country code
		{"+86 13800138000 p 12", "invalid_phone"}, // garbage after the number
		{strings.Repeat("1", 33), "invalid_phone"},
	}
	for _, tc := range invalid {
		got, err := ParsePhone(tc.in)
		if yuncan.ErrorCode(err) != yuncan.Invalid || yuncan.ErrorReason(err) != tc.reason {
			t.Errorf("ParsePhone(%q) = %q, %v; want %s/%s", tc.in, got, err, yuncan.Invalid, tc.reason)
		}
		if err != nil && got != "" {
			t.Errorf("ParsePhone(%q) returned %q along with its error", tc.in, got)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestProfileValidate(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	var none *string
	cases := []struct {
		name   string
		p      Profile
		fields []string // the fields reported wrong; none means valid
	}{
		{"empty edit", Profile{}, nil},
		{"nickname", Profile{Nickname: ptr("小云")}, nil},
		{"nickname at the limit", Profile{Nickname: ptr(strings.Repeat("云", MaxNickname))}, nil},
		{"nickname too long", Profile{Nickname: ptr(strings.Repeat("云", MaxNickname+1))}, []string{"nickname"}},
		{"nickname blank", Profile{Nickname: ptr("  \t ")}, []string{"nickname"}},
		{"nickname empty", Profile{Nickname: ptr("")}, []string{"nickname"}},
		{"nickname newline", Profile{Nickname: ptr("a\nb")}, []string{"nickname"}},
		{"nickname control", Profile{Nickname: ptr("a\x00b")}, []string{"nickname"}},
		{"nickname C1 control", Profile{Nickname: ptr("a\u0085b")}, []string{"nickname"}},
		{"nickname bad UTF-8", Profile{Nickname: ptr("a\xffb")}, []string{"nickname"}},
		{"gender", Profile{Gender: ptr(ptr("female"))}, nil},
		{"gender other", Profile{Gender: ptr(ptr("other"))}, nil},
		{"gender unknown", Profile{Gender: ptr(ptr("robot"))}, []string{"gender"}},
		{"gender case", Profile{Gender: ptr(ptr("Male"))}, []string{"gender"}},
		{"gender cleared", Profile{Gender: &none}, nil},
		{"birthday", Profile{Birthday: ptr(ptr("1990-02-28"))}, nil},
		{"birthday today", Profile{Birthday: ptr(ptr("2025-06-01"))}, nil},
		{"birthday tomorrow", Profile{Birthday: ptr(ptr("2025-06-02"))}, []string{"birthday"}},
		{"birthday before 1900", Profile{Birthday: ptr(ptr("1899-12-31"))}, []string{"birthday"}},
		{"birthday bad format", Profile{Birthday: ptr(ptr("01/02/1990"))}, []string{"birthday"}},
		{"birthday no such day", Profile{Birthday: ptr(ptr("1990-02-30"))}, []string{"birthday"}},
		{"birthday with time", Profile{Birthday: ptr(ptr("1990-02-03T00:00:00Z"))}, []string{"birthday"}},
		{"birthday cleared", Profile{Birthday: &none}, nil},
		{"region", Profile{Region: ptr(ptr("浙江 杭州"))}, nil},
		{"region too long", Profile{Region: ptr(ptr(strings.Repeat("x", MaxRegion+1)))}, []string{"region"}},
		{"region newline", Profile{Region: ptr(ptr("a\nb"))}, []string{"region"}},
		{"introduction multi-line", Profile{Introduction: ptr(ptr("第一行\n第二行"))}, nil},
		{"introduction at the limit", Profile{Introduction: ptr(ptr(strings.Repeat("云", MaxIntroduction)))}, nil},
		{"introduction too long", Profile{Introduction: ptr(ptr(strings.Repeat("云", MaxIntroduction+1)))}, []string{"introduction"}},
		{"introduction blank", Profile{Introduction: ptr(ptr("\n\n"))}, []string{"introduction"}},
		{"introduction control", Profile{Introduction: ptr(ptr("a\x07b"))}, []string{"introduction"}},
		{"every field wrong", Profile{Nickname: ptr(""), Gender: ptr(ptr("x")), Birthday: ptr(ptr("x")), Region: ptr(ptr(" ")), Introduction: ptr(ptr(" "))},
			[]string{"nickname", "gender", "birthday", "region", "introduction"}},
	}
	for _, tc := range cases {
		err := tc.p.Validate(now)
		if len(tc.fields) == 0 {
			if err != nil {
				t.Errorf("%s: Validate = %v, want nil", tc.name, err)
			}
			continue
		}
		if yuncan.ErrorCode(err) != yuncan.Invalid {
			t.Errorf("%s: Validate = %v, want %s", tc.name, err, yuncan.Invalid)
			continue
		}
		e := yuncan.AsError(err)
		if len(e.Fields) != len(tc.fields) {
			t.Errorf("%s: fields %v, want %v", tc.name, e.Fields, tc.fields)
		}
		for _, f := range tc.fields {
			if _, ok := e.Fields[f]; !ok {
				t.Errorf("%s: no problem reported for %s (got %v)", tc.name, f, e.Fields)
			}
		}
	}
}

func TestDeviceInfoValidate(t *testing.T) {
	t.Parallel()
	ok := DeviceInfo{Platform: "android", Model: "Mate 60", OSVersion: "HarmonyOS 4", AppVersion: "1.2.3", PushToken: "tok"}
	cases := []struct {
		name   string
		edit   func(d *DeviceInfo)
		fields []string
	}{
		{"valid", func(d *DeviceInfo) {}, nil},
		{"minimal", func(d *DeviceInfo) { *d = DeviceInfo{Platform: "web"} }, nil},
		{"ios", func(d *DeviceInfo) { d.Platform = "ios" }, nil},
		{"harmonyos", func(d *DeviceInfo) { d.Platform = "harmonyos" }, nil},
		{"other", func(d *DeviceInfo) { d.Platform = "other" }, nil},
		{"no platform", func(d *DeviceInfo) { d.Platform = "" }, []string{"platform"}},
		{"unknown platform", func(d *DeviceInfo) { d.Platform = "symbian" }, []string{"platform"}},
		{"platform case", func(d *DeviceInfo) { d.Platform = "iOS" }, []string{"platform"}},
		{"model at the limit", func(d *DeviceInfo) { d.Model = strings.Repeat("m", 64) }, nil},
		{"model too long", func(d *DeviceInfo) { d.Model = strings.Repeat("m", 65) }, []string{"model"}},
		{"model control", func(d *DeviceInfo) { d.Model = "a\nb" }, []string{"model"}},
		{"os version too long", func(d *DeviceInfo) { d.OSVersion = strings.Repeat("1", 65) }, []string{"os_version"}},
		{"app version control", func(d *DeviceInfo) { d.AppVersion = "1\x00" }, []string{"app_version"}},
		{"push token at the limit", func(d *DeviceInfo) { d.PushToken = strings.Repeat("p", 4096) }, nil},
		{"push token too long", func(d *DeviceInfo) { d.PushToken = strings.Repeat("p", 4097) }, []string{"push_token"}},
		{"push token control", func(d *DeviceInfo) { d.PushToken = "a\rb" }, []string{"push_token"}},
		{"several", func(d *DeviceInfo) { d.Platform, d.Model, d.PushToken = "x", "\t", "\t" }, []string{"platform", "model", "push_token"}},
	}
	for _, tc := range cases {
		d := ok
		tc.edit(&d)
		err := d.Validate()
		if len(tc.fields) == 0 {
			if err != nil {
				t.Errorf("%s: Validate = %v, want nil", tc.name, err)
			}
			continue
		}
		if yuncan.ErrorCode(err) != yuncan.Invalid {
			t.Errorf("%s: Validate = %v, want %s", tc.name, err, yuncan.Invalid)
			continue
		}
		e := yuncan.AsError(err)
		if len(e.Fields) != len(tc.fields) {
			t.Errorf("%s: fields %v, want %v", tc.name, e.Fields, tc.fields)
		}
		for _, f := range tc.fields {
			if _, ok := e.Fields[f]; !ok {
				t.Errorf("%s: no problem reported for %s (got %v)", tc.name, f, e.Fields)
			}
		}
	}
}

func TestCheckPasswordStrength(t *testing.T) {
	t.Parallel()
	cases := []struct {
		pw string
		ok bool
	}{
		{"", false},
		{"abcdefg", false},                        // short, one class
		{"Abc1!", false},                          // four classes but short
		{"abcdefgh", false},                       // one class
		{"abcdEFGH", false},                       // two classes
		{"12345678", false},                       // one class
		{"abcdEFG1", true},                        // three classes, 8 characters
		{"abcd123!", true},                        // lower, digits, symbols
		{"ABCD123!", true},                        // upper, digits, symbols
		{"云寻云寻Ab12", true},                        // CJK counts as "other"
		{"云寻云寻云寻云寻", false},                       // 8 characters, one class
		{"correct horse ba", true},                // a 16-character passphrase of any kind
		{"correcthorsebat", false},                // 15 characters, one class
		{"aaaaaaaaaaaaaaaa", true},                // 16 characters pass on length alone
		{"Password1!", false},                     // well known
		{"P@ssw0rd", false},                       // well known
		{"Woaini1314!", false},                    // well known
		{"Password2!", true},                      // not on the list
		{"Abcd1234\x00", false},                   // control character
		{"Abcd1234\n", false},                     // control character
		{strings.Repeat("Ab1!", 32), true},        // 128 characters
		{strings.Repeat("Ab1!", 32) + "x", false}, // 129
		{strings.Repeat("密", 128), true},
		{strings.Repeat("密", 129), false},
	}
	for _, tc := range cases {
		err := CheckPasswordStrength(tc.pw)
		if tc.ok && err != nil {
			t.Errorf("CheckPasswordStrength(%q) = %v, want nil", tc.pw, err)
		}
		if !tc.ok && (yuncan.ErrorCode(err) != yuncan.Invalid || yuncan.ErrorReason(err) != "weak_password") {
			t.Errorf("CheckPasswordStrength(%q) = %v, want invalid/weak_password", tc.pw, err)
		}
	}
}

func TestHashPassword(t *testing.T) {
	t.Parallel()
	const pw = "Correct-Horse-9"
	h := HashPassword(pw)
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("HashPassword = %q, want an argon2id PHC string with the OWASP parameters", h)
	}
	if strings.Contains(h, pw) {
		t.Fatal("the hash contains the password")
	}
	if !VerifyPassword(h, pw) {
		t.Fatal("VerifyPassword(HashPassword(pw), pw) = false")
	}
	if h2 := HashPassword(pw); h2 == h {
		t.Error("two hashes of one password are equal: the salt is not random")
	}

	parts := strings.Split(h, "$") // "", argon2id, v=19, m=..., salt, key
	with := func(i int, v string) string {
		p := append([]string(nil), parts...)
		p[i] = v
		return strings.Join(p, "$")
	}
	cheap := "$argon2id$v=19$m=8,t=1,p=1$" + parts[4] + "$" + parts[5] // well formed but for other parameters
	cases := []struct {
		name, hash, pw string
	}{
		{"wrong password", h, "Correct-Horse-8"},
		{"empty password", h, ""},
		{"password with a suffix", h, pw + " "},
		{"empty hash", "", pw},
		{"garbage", "not a hash", pw},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", pw},
		{"argon2i", with(1, "argon2i"), pw},
		{"other version", with(2, "v=16"), pw},
		{"bad version", with(2, "v=x"), pw},
		{"no parameters", with(3, ""), pw},
		{"zero memory", with(3, "m=0,t=2,p=1"), pw},
		{"zero time", with(3, "m=19456,t=0,p=1"), pw},
		{"zero threads", with(3, "m=19456,t=2,p=0"), pw},
		{"threads overflow", with(3, "m=19456,t=2,p=300"), pw},
		{"memory over the cap", with(3, "m=2000000,t=2,p=1"), pw},
		{"time over the cap", with(3, "m=19456,t=17,p=1"), pw},
		{"salt not base64", with(4, "!!!"), pw},
		{"key not base64", with(5, "!!!"), pw},
		{"empty key", with(5, ""), pw},
		{"key cut short", with(5, parts[5][:20]), pw},
		{"other parameters", cheap, pw},
		{"too few parts", strings.Join(parts[:5], "$"), pw},
		{"too many parts", h + "$x", pw},
	}
	for _, tc := range cases {
		if VerifyPassword(tc.hash, tc.pw) {
			t.Errorf("%s: VerifyPassword = true, want false", tc.name)
		}
	}
}

// noTime drops the timestamp, whose digits could match a number's.
var noTime = &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey && len(groups) == 0 {
		return slog.Attr{}
	}
	return a
}}

func TestPhoneLogValue(t *testing.T) {
	t.Parallel()
	p, err := ParsePhone("138 0013 8000")
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []struct {
		name string
		new  func(b *bytes.Buffer) slog.Handler
	}{
		{"text", func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, noTime) }},
		{"json", func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, noTime) }},
	} {
		var b bytes.Buffer
		log := slog.New(h.new(&b))
		log.Info("code sent", "phone", p)
		log.Info("code sent", slog.Any("phone", p))
		log.Info("login", slog.Group("req", slog.Any("phone", p)))
		log.With("phone", p).Info("with")
		log.WithGroup("g").Info("group", "phone", p)
		out := b.String()
		for _, digits := range []string{"13800138000", "0013", "8000", "138"} {
			if strings.Contains(out, digits) {
				t.Errorf("%s: log output holds %q:\n%s", h.name, digits, out)
			}
		}
		if n := strings.Count(out, "[phone]"); n != 5 {
			t.Errorf("%s: %d redactions, want 5:\n%s", h.name, n, out)
		}
	}
}
