package ingest

import (
	"errors"
	"fmt"
)

// Errors classifying a failed Run. Every input problem wraps ErrBadInput,
// every configuration problem ErrUsage; the index is unchanged after either.
var (
	// ErrBadInput: an input is unreadable, empty or not in the expected format.
	ErrBadInput = errors.New("bad input")
	// ErrUsage: the configuration is inconsistent (flags, manifest).
	ErrUsage = errors.New("usage")
	// ErrBreachExists: the manifest names a breach already in the index,
	// ingested from other data, and Config.Append is false.
	ErrBreachExists = errors.New("breach already in the index")
	// ErrChanged: an input changed (size, modification time or content)
	// while it was being ingested; it always comes wrapped in an
	// InputError, so it is also an ErrBadInput.
	ErrChanged = errors.New("input changed during ingest")
	// ErrShrink: a Pwned Passwords input would replace the base with a much
	// smaller one (a partial download), and Config.AllowShrink is false.
	ErrShrink = errors.New("new base much smaller than the current one")
)

// InputError reports a problem with one input, with the line where it was
// found when there is one. It never quotes the input's content.
type InputError struct {
	Path string   // the input file or directory
	Loc  Location // Line 0 when not tied to a line
	Msg  string   // what is wrong
	Err  error    // underlying error, if any
}

// Error formats the error as "path: line N: msg: err".
func (e *InputError) Error() string {
	s := e.Path
	if e.Loc.Line > 0 {
		s += ": " + e.Loc.String()
	} else if e.Loc.File != "" {
		s += ": " + e.Loc.File
	}
	s += ": " + e.Msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns ErrBadInput and the underlying error.
func (e *InputError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrBadInput}
	}
	return []error{ErrBadInput, e.Err}
}

func inputErr(path string, loc Location, err error, format string, args ...any) error {
	return &InputError{Path: path, Loc: loc, Msg: fmt.Sprintf(format, args...), Err: err}
}

func usageErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUsage, fmt.Sprintf(format, args...))
}
