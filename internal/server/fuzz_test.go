package server

import (
	"bytes"
	"errors"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/storetest"
)

// FuzzDecodeJSON: the request decoder never panics, and whatever it
// refuses is a *yuncan.Error the client is told about (400), never an
// internal error.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		``, ` `, `{}`, `null`, `[]`, `"x"`, `1`, `{} {}`, `{}x`, `{"phone":`, `{"phone":"13800138000"}`,
		`{"phone":"13800138000","code":"123456","accept_policy_version":"2021-05-01"}`,
		`{"phone":1}`, `{"phone":{"a":1}}`, `{"unknown":1}`, `{"nickname":null}`, `{"gender":5}`,
		`{"birthday":[1]}`, `{"region":"\u0000"}`, `{"introduction":"\ud800"}`, `{"platform":"ios","push_token":true}`,
		`{"nickname":"a","nickname":"b"}`, `{"PHONE":"1"}`, "\xef\xbb\xbf{}", `{"a":1e999}`, `[{"phone":"1"}]`,
		`{"purposes":["marketing_push"]}`, `{"purposes":"x"}`, `{"marketing_sms":null}`, `{"marketing_sms":true}`,
		`{"version":"2026-12-01","effective":"2026-12-01","text":"t","summary_zh":"z","summary_en":"e"}`, `{"effective":"tomorrow"}`,
		`{"guardian_phone":"13900139000","minor_phone":"13800138000","kind":"access"}`, `{"code":"123456"}`,
	} {
		f.Add([]byte(s))
	}
	targets := []func() any{
		func() any { return new(loginRequest) },
		func() any { return new(profilePatch) },
		func() any { return new(deviceRequest) },
		func() any { return new(smsCodeRequest) },
		func() any { return new(passwordRequest) },
		func() any { return new(bulkGrantRequest) },
		func() any { return new(privacySettingsPatch) },
		func() any { return new(policyVersionCreateRequest) },
		func() any { return new(guardianPhoneRequest) },
		func() any { return new(guardianCodeRequest) },
		func() any { return new(guardianRequestCreate) },
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, newV := range targets {
			v := newV()
			err := decodeJSON(body, v)
			if err == nil {
				// What the handlers make of a decoded body is the client's
				// to fix too, never ours.
				var after error
				switch v := v.(type) {
				case *profilePatch:
					_, after = v.edit()
				case *privacySettingsPatch:
					_, after = v.patch()
				case *policyVersionCreateRequest:
					_, after = v.publishRequest()
				}
				if after != nil {
					checkDecodeError(t, body, after)
				}
				continue
			}
			checkDecodeError(t, body, err)
		}
	})
}

func checkDecodeError(t *testing.T, body []byte, err error) {
	t.Helper()
	var e *yuncan.Error
	if !errors.As(err, &e) {
		t.Fatalf("decode %q: %T %v is not a *yuncan.Error", body, err, err)
	}
	if e.Code != yuncan.Invalid {
		t.Fatalf("decode %q: code %s, want invalid: %v", body, e.Code, err)
	}
	switch e.Reason {
	case "", "malformed_json", "unknown_field", "wrong_type":
	default:
		t.Fatalf("decode %q: unexpected reason %q", body, e.Reason)
	}
	if e.Message == "" {
		t.Fatalf("decode %q: no message", body)
	}
}

// FuzzAvatarUpload: whatever body arrives as an avatar, raw or as a
// multipart form, the answer is never a 5xx.
func FuzzAvatarUpload(f *testing.F) {
	const boundary = "fuzzboundary"
	form := func(name string, file []byte) []byte {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		mw.SetBoundary(boundary)
		fw, _ := mw.CreateFormFile(name, "a.png")
		fw.Write(file)
		mw.Close()
		return buf.Bytes()
	}
	small := apiPNG(f, 8, 8, "")
	f.Add("image/png", small)
	f.Add("image/png", small[:len(small)/2])
	f.Add("image/jpeg", []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"))
	f.Add("image/gif", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00"))
	f.Add("image/webp", []byte("RIFF\x1a\x00\x00\x00WEBPVP8 "))
	f.Add("text/plain", []byte("hello"))
	f.Add("", []byte{})
	f.Add("multipart/form-data; boundary="+boundary, form("avatar", small))
	f.Add("multipart/form-data; boundary="+boundary, form("avatar", small)[:100])
	f.Add("multipart/form-data; boundary="+boundary, form("other", small))
	f.Add("multipart/form-data; boundary="+boundary, []byte("--"+boundary+"\r\n\r\n"))
	f.Add("multipart/form-data", form("avatar", small))
	f.Add("multipart/mixed; boundary="+boundary, form("avatar", small))

	e := newAPIEnv(f, storetest.Targets(f)[0], apiEnvOptions{})
	tok, _ := e.signUp(f, apiPhone())
	f.Fuzz(func(t *testing.T, ctype string, body []byte) {
		req := httptest.NewRequest("PUT", "/api/v1/me/avatar", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		rec := httptest.NewRecorder()
		e.srv.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("Content-Type %q, %d bytes: status %d: %s", ctype, len(body), rec.Code, rec.Body)
		}
		if rec.Code != http.StatusOK {
			apiCheckErrorShape(t, "PUT /api/v1/me/avatar", apiResp{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()})
		}
	})
}
