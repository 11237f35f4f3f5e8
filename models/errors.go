package models

import (
	"errors"
	"fmt"
	"time"
)

// Error is a domain error with a stable code. The code's kind (and so its
// HTTP status) comes from the code table in codes.go.
type Error struct {
	Code    Code
	Message string
	// Field names the offending input field, when there is one.
	Field string
	// RetryAfter, when set, tells the client how long to wait.
	RetryAfter time.Duration
	// Args are the specifics of the error (a code, a unit's name, a
	// limit) by name, for the message catalogs' templates, which render the
	// error in the reader's language. Message stays the English text for
	// logs and the command line.
	Args map[string]any
	// Err is the cause, kept for logs; it is never shown to clients.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is match two *Error values by code, so that storage can
// wrap the sentinels below with %w and callers can test for them.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError returns an *Error about one input field.
func FieldError(code Code, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// With returns e with the named specifics added to its Args (name, value,
// name, value, ...).
func (e *Error) With(kv ...any) *Error {
	if e.Args == nil {
		e.Args = map[string]any{}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if k, ok := kv[i].(string); ok {
			e.Args[k] = kv[i+1]
		}
	}
	return e
}

// AsError returns the *Error in err's chain, or nil.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// ErrorCode returns the code of the *Error in err's chain, or CodeInternal.
func ErrorCode(err error) Code {
	if e := AsError(err); e != nil {
		return e.Code
	}
	return CodeInternal
}

// Sentinels that storage adapters wrap (fmt.Errorf("db: %w", models.ErrNotFound)).
var (
	ErrNotFound        = &Error{Code: CodeNotFound, Message: "not found"}
	ErrDuplicate       = &Error{Code: CodeDuplicate, Message: "already exists"}
	ErrVersionConflict = &Error{Code: CodeVersionConflict, Message: "the record was changed by someone else; reload and retry"}
	ErrUnavailable     = &Error{Code: CodeUnavailable, Message: "a backend is unavailable; retry later"}
)
