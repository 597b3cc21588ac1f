package sage

import (
	"errors"
	"fmt"
)

// Sentinel errors of the Service. Callers test them with errors.Is and map
// them to user-facing codes only at the edge (MCP tool results, REST).
var (
	// ErrNotFound: the memory, session or token does not exist in this namespace.
	ErrNotFound = errors.New("not found")
	// ErrUnavailable: the database cannot be reached right now.
	ErrUnavailable = errors.New("database unavailable")
	// ErrEmbedder: the embedding provider failed.
	ErrEmbedder = errors.New("embedder failed")
	// ErrInvalid: the input is wrong; errors.As an *InputError for details.
	ErrInvalid = errors.New("invalid input")
)

// InputError is bad input: which field, and what is wrong with it.
type InputError struct {
	Field   string
	Message string
}

func (e *InputError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return fmt.Sprintf("%s: %s", e.Field, e.Message)
}

// Is makes errors.Is(err, ErrInvalid) true for every *InputError.
func (e *InputError) Is(target error) bool { return target == ErrInvalid }

// Invalidf returns an *InputError for field.
func Invalidf(field, format string, args ...any) error {
	return &InputError{Field: field, Message: fmt.Sprintf(format, args...)}
}
