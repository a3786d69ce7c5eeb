package analytics

import (
	"errors"
	"fmt"
)

// Error codes. The web layer maps each to one HTTP status in one place.
const (
	EInvalid      = "invalid"      // the caller sent something wrong: 400
	ENotFound     = "not_found"    // 404
	ETooLarge     = "too_large"    // a size or count limit: 413
	EUnauthorized = "unauthorized" // 401
	EForbidden    = "forbidden"    // 403
	EConflict     = "conflict"     // 409
	EUnavailable  = "unavailable"  // overloaded or shutting down: 503
	EInternal     = "internal"     // a bug or an outage: 500, details only in logs
)

// Error is stopscope's one error type: a code and a message a user can act on.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err if it is (or wraps) an *Error, else EInternal.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the message of err if it is (or wraps) an *Error,
// else "internal error": unknown errors never reach users verbatim.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// StatusForErrorType returns the HTTP status the Messages API answers with
// for an error type, or 0 when the type is not one of its documented ones.
// A bare error body carries no status, so this is how one is recovered.
func StatusForErrorType(t string) int {
	switch t {
	case "invalid_request_error":
		return 400
	case "authentication_error":
		return 401
	case "billing_error":
		return 402
	case "permission_error":
		return 403
	case "not_found_error":
		return 404
	case "request_too_large":
		return 413
	case "rate_limit_error":
		return 429
	case "api_error":
		return 500
	case "timeout_error":
		return 504
	case "overloaded_error":
		return 529
	}
	return 0
}
