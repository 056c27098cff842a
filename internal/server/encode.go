package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/yuncan/yuncan"
)

// maxJSONBody bounds every JSON request body.
const maxJSONBody = 64 << 10

// decode reads one JSON object of at most maxJSONBody bytes into v; see
// decodeLimit.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	return decodeLimit(w, r, v, maxJSONBody)
}

// decodeLimit reads one JSON object into v: the content type must be
// JSON, the body at most limit bytes, unknown fields and trailing data are
// refused, and type errors name the field. Errors are *yuncan.Error.
func decodeLimit(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return yuncan.Errorf(yuncan.UnsupportedMedia, "send the body as application/json")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return yuncan.Errorf(yuncan.TooLarge, "the body is larger than %d bytes", limit)
		}
		return yuncan.Errorf(yuncan.Invalid, "the body could not be read")
	}
	return decodeJSON(body, v)
}

// decodeJSON is decode's parser, apart so that fuzzing reaches it.
func decodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return yuncan.Errorf(yuncan.Invalid, "the body is empty; send a JSON object").WithReason("malformed_json")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return yuncan.Errorf(yuncan.Invalid, "the body holds more than one JSON value").WithReason("malformed_json")
	}
	if _, err := dec.Token(); err != io.EOF {
		return yuncan.Errorf(yuncan.Invalid, "the body holds data after the JSON object").WithReason("malformed_json")
	}
	return exactFieldNames(body, v)
}

// exactFieldNames refuses top-level keys that encoding/json matched to a
// field only case-insensitively ({"NICKNAME": ...}): the API's field
// names are exact.
func exactFieldNames(body []byte, v any) error {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var keys map[string]json.RawMessage
	if json.Unmarshal(body, &keys) != nil {
		return nil // not an object: the decoder has judged it already
	}
	names := make(map[string]bool, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name == "" {
			name = t.Field(i).Name
		}
		names[name] = true
	}
	for k := range keys {
		if !names[k] {
			return yuncan.FieldError(k, "is not a known field").WithReason("unknown_field")
		}
	}
	return nil
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var fe *fieldError
	switch {
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return yuncan.Errorf(yuncan.Invalid, "the body is not valid JSON").WithReason("malformed_json")
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return yuncan.Errorf(yuncan.Invalid, "the body must be a JSON object").WithReason("malformed_json")
		}
		return yuncan.FieldError(field, fmt.Sprintf("must be %s", jsonKind(typ.Type.Kind().String()))).WithReason("wrong_type")
	case errors.As(err, &fe):
		return yuncan.FieldError(fe.field, fe.problem)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return yuncan.FieldError(field, "is not a known field").WithReason("unknown_field")
	}
	return yuncan.Errorf(yuncan.Invalid, "the body is not valid JSON").WithReason("malformed_json")
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "struct", "map":
		return "an object"
	case "slice", "array":
		return "an array"
	}
	return "a number"
}

// fieldError lets a custom UnmarshalJSON name the field it failed on.
type fieldError struct{ field, problem string }

func (e *fieldError) Error() string { return e.field + ": " + e.problem }

// optional is a JSON field that can be absent (Set false), null (Set true,
// Value nil) or a value: what a PATCH needs to tell "leave" from "clear".
type optional[T any] struct {
	Set   bool
	Value *T
}

func (o *optional[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if string(b) == "null" {
		o.Value = nil
		return nil
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	o.Value = &v
	return nil
}

// ptr returns the edit for an optional field: nil when absent, a pointer
// to the value (nil to clear) when set.
func (o optional[T]) ptr() **T {
	if !o.Set {
		return nil
	}
	v := o.Value
	return &v
}

// encode writes v as JSON with status.
func encode(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	if v != nil {
		json.NewEncoder(w).Encode(v)
	}
}

// statusOf maps error codes to HTTP statuses: the one place that does.
func statusOf(code yuncan.Code) int {
	switch code {
	case yuncan.Invalid:
		return http.StatusBadRequest
	case yuncan.Unauthenticated:
		return http.StatusUnauthorized
	case yuncan.Forbidden:
		return http.StatusForbidden
	case yuncan.NotFound:
		return http.StatusNotFound
	case yuncan.Conflict:
		return http.StatusConflict
	case yuncan.TooLarge:
		return http.StatusRequestEntityTooLarge
	case yuncan.UnsupportedMedia:
		return http.StatusUnsupportedMediaType
	case yuncan.RateLimited:
		return http.StatusTooManyRequests
	case yuncan.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// errorBody is the one error shape of the API.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
	// Purpose names the consent a consent_required error asks for.
	Purpose string `json:"purpose,omitempty"`
}

// writeError writes err in the API's error shape. The cause goes to the
// log, never to the client; 5xx errors are logged at error level.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := yuncan.AsError(err)
	status := statusOf(e.Code)
	msg := e.Message
	if status >= 500 {
		s.logger.ErrorContext(r.Context(), "request failed", slog.String("code", string(e.Code)), slog.Any("err", err))
		if e.Code == yuncan.Internal {
			msg = "something went wrong on our side; try again later"
		}
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(e.RetryAfter.Seconds())))
	}
	code := e.Reason
	if code == "" {
		code = string(e.Code)
	}
	encode(w, status, errorBody{Error: errorDetail{Code: code, Message: msg, Fields: e.Fields, Purpose: e.Extra["purpose"]}})
}

// mapSlice converts each element of xs with f, for list answers; an empty
// list is an empty, non-nil slice, so it encodes as [] and not null.
func mapSlice[T, U any](xs []T, f func(T) U) []U {
	out := make([]U, 0, len(xs))
	for _, x := range xs {
		out = append(out, f(x))
	}
	return out
}
