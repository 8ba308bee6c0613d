package trace

import (
	"errors"
	"fmt"
	"strings"
)

// Error kinds carried by ParseError; test with errors.Is.
var (
	ErrHeader          = errors.New("wrong header")
	ErrRagged          = errors.New("wrong number of fields")
	ErrNotNumber       = errors.New("not a number")
	ErrNegative        = errors.New("negative count")
	ErrNonPositive     = errors.New("must be > 0")
	ErrMissingJoin     = errors.New("missing join row")
	ErrDuplicateKey    = errors.New("duplicate HashFunction")
	ErrPercentileOrder = errors.New("percentiles decrease")
	ErrEmpty           = errors.New("no rows")
)

// ParseError locates a problem in a trace file. Line and Column are 1-based
// (line 1 is the header); zero means the whole file or the whole row.
type ParseError struct {
	File   string
	Line   int
	Column int
	// Name is the column's header name, when known.
	Name string
	Err  error
}

func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	if e.Name != "" {
		fmt.Fprintf(&b, " (column %s)", e.Name)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *ParseError) Unwrap() error { return e.Err }
