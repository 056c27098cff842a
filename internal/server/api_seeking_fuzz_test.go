package server

import (
	"testing"
	"time"
)

var fuzzNow = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

// FuzzSeekingDecode: the people-seeking request decoders never panic,
// and whatever they or the parsing after them refuse is a 400 the client
// is told about.
func FuzzSeekingDecode(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `null`, `[]`, `{"category":"child"}`, `{"person":null}`, `{"person":{"full_name":1}}`,
		`{"category":"child","person":{"full_name":"王小明","age":7,"alternate_names":["a"]},"last_seen":{"at":"2025-01-01T00:00:00Z","lat":30,"lng":120,"place_name":"x"},"private":{"relationship":"father","contact_phone":"13800138000"}}`,
		`{"last_seen":{"at":"yesterday","lat":1e999}}`, `{"last_seen":{"lat":"NaN"}}`, `{"person":{"height_cm":1.5}}`,
		`{"text":"saw him","seen_at":"2025-01-01T00:00:00Z","lat":30,"lng":120,"source":"device"}`, `{"seen_at":"not a time"}`,
		`{"outcome":"found_safe","note":"x"}`, `{"reason":"\u0000"}`, `{"verdict":"verified"}`, `{"name":"x","kind":"police"}`,
		`{"user_id":["x"]}`, `{"text":"\ud800"}`, `{"note":null}`, `{"CATEGORY":"child"}`,
	} {
		f.Add([]byte(s))
	}
	targets := []func() any{
		func() any { return new(caseRequest) },
		func() any { return new(clueRequest) },
		func() any { return new(resolveRequest) },
		func() any { return new(reasonRequest) },
		func() any { return new(noteRequest) },
		func() any { return new(clueReviewRequest) },
		func() any { return new(messageRequest) },
		func() any { return new(orgRequest) },
		func() any { return new(staffRequest) },
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, newV := range targets {
			v := newV()
			if err := decodeJSON(body, v); err != nil {
				checkDecodeError(t, body, err)
				continue
			}
			var after error
			switch v := v.(type) {
			case *caseRequest:
				if in, err := v.input(); err != nil {
					after = err
				} else {
					after = in.Validate(fuzzNow)
				}
			case *clueRequest:
				if in, err := v.input(); err != nil {
					after = err
				} else {
					after = in.Validate(fuzzNow)
				}
			}
			if after != nil {
				checkDecodeError(t, body, after)
			}
		}
	})
}
