// Package yuncan holds the vocabulary every area shares: the error type and
// its codes. Areas live under internal/; the binary is cmd/yuncan.
package yuncan

import (
	"errors"
	"fmt"
	"time"
)

// Code is the kind of an error. The list is append-only: clients and tests
// match on these values, and the HTTP layer maps each to one status.
type Code string

// Error codes.
const (
	Invalid          Code = "invalid"                // 400: the request is wrong
	Unauthenticated  Code = "unauthenticated"        // 401: no valid credentials
	Forbidden        Code = "forbidden"              // 403: credentials valid, action not allowed
	NotFound         Code = "not_found"              // 404: absent, or not visible to the caller
	Conflict         Code = "conflict"               // 409: clashes with the current state
	TooLarge         Code = "too_large"              // 413: body or upload over its limit
	UnsupportedMedia Code = "unsupported_media_type" // 415: wrong content type
	RateLimited      Code = "rate_limited"           // 429: slow down; RetryAfter says how long
	Unavailable      Code = "unavailable"            // 503: a dependency is down
	Internal         Code = "internal"               // 500: a bug or an unexpected failure
)

// Error is the one error type areas return to callers. Message is safe to
// show a user; Err is the cause, for logs only.
type Error struct {
	Code Code
	// Reason is a more specific machine-readable code, for example
	// "code_expired" or "consent_required". When empty, Code is reported.
	Reason  string
	Message string
	// Fields maps a request field to what is wrong with it.
	Fields map[string]string
	// Extra holds further machine-readable details (for example the
	// purpose a consent_required error names).
	Extra map[string]string
	// RetryAfter is set on RateLimited errors.
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	s := string(e.Code)
	if e.Reason != "" {
		s += "/" + e.Reason
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with code and a user-safe message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// WithReason sets the specific machine-readable reason and returns e.
func (e *Error) WithReason(reason string) *Error { e.Reason = reason; return e }

// WithField records a per-field problem and returns e.
func (e *Error) WithField(field, problem string) *Error {
	if e.Fields == nil {
		e.Fields = map[string]string{}
	}
	e.Fields[field] = problem
	return e
}

// FieldError is an Invalid error about one field.
func FieldError(field, problem string) *Error {
	return Errorf(Invalid, "%s: %s", field, problem).WithField(field, problem)
}

// ErrorCode returns the code of the first *Error in err's chain, Internal
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// ErrorReason returns the specific reason of err, or its code when it has
// none.
func ErrorReason(err error) string {
	var e *Error
	if errors.As(err, &e) {
		if e.Reason != "" {
			return e.Reason
		}
		return string(e.Code)
	}
	if err == nil {
		return ""
	}
	return string(Internal)
}

// AsError returns the *Error in err's chain, or an Internal error wrapping
// err when there is none.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: Internal, Message: "internal error", Err: err}
}
