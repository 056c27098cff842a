package server

import "testing"

// FuzzDecodeIncident: the decoders of the incident routes never panic,
// and whatever they refuse — in the JSON or in turning it into a
// declaration (times, "affected") — is an invalid input the client is
// told about, never an internal error.
func FuzzDecodeIncident(f *testing.F) {
	for _, s := range []string{
		`{}`, `null`, `{"affected":"all"}`, `{"affected":["019a0000-0000-7000-8000-000000000000"]}`, `{"affected":"some"}`,
		`{"affected":42}`, `{"affected":null}`, `{"affected":[1]}`, `{"affected":{"all":true}}`, `{"affected":[]}`,
		`{"severity":"high","occurred_at":"2026-03-01T10:00:00+08:00","texts":[{"lang":"zh","what_happened":"a","impact":"b","measures":"c","advice":"d","remedies":"e"}],"affected":"all"}`,
		`{"occurred_at":"yesterday"}`, `{"discovered_at":"2026-13-01T00:00:00Z"}`, `{"texts":[{"lang":"zh","extra":1}]}`, `{"texts":"x"}`,
		`{"reference":"京网信〔2026〕8号","submitted_at":"2026-03-01T10:00:00Z"}`, `{"submitted_at":1}`, `{"Affected":"all"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req incidentCreateRequest
		if err := decodeJSON(body, &req); err != nil {
			checkDecodeError(t, body, err)
		} else if _, err := req.input(); err != nil {
			checkDecodeError(t, body, err)
		}
		var rep regulatorReportRequest
		if err := decodeJSON(body, &rep); err != nil {
			checkDecodeError(t, body, err)
		} else if _, err := apiTime("submitted_at", rep.SubmittedAt); err != nil {
			checkDecodeError(t, body, err)
		}
	})
}
