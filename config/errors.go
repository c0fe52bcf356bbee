package config

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Error is one problem in a configuration, located by file, line and key.
type Error struct {
	File string // config file name, or "<defaults>"
	Line int    // 1-based; 0 if unknown
	Key  string // key path such as "listeners[1].address"; "" for the file
	Msg  string
	Err  error // underlying cause, if any
}

// Error formats e as "file:line: key: msg".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Errors is every problem found in one configuration, in file order.
type Errors []*Error

// Error prints one problem per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes the individual errors to errors.Is and errors.As.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// sourceInfo remembers where each key path was in the file.
type sourceInfo struct {
	file  string
	dir   string         // base for relative paths
	lines map[string]int // key path -> line
}

// fileName returns the file name, or "<defaults>" for a built-in config.
func (s *sourceInfo) fileName() string {
	if s == nil {
		return "<defaults>"
	}
	return s.file
}

// line returns the line of path, or of its nearest ancestor in the file.
func (s *sourceInfo) line(path string) int {
	if s == nil {
		return 0
	}
	for p := path; p != ""; p = parentPath(p) {
		if l, ok := s.lines[p]; ok {
			return l
		}
	}
	return 0
}

// parentPath strips the last component of a key path: "a.b[2]" -> "a.b",
// "a.b" -> "a".
func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

// collector gathers errors for one config.
type collector struct {
	src  *sourceInfo
	errs Errors
}

// add records an error at key path with an optional cause.
func (c *collector) add(path string, cause error, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if cause != nil {
		msg += ": " + cause.Error()
	}
	c.errs = append(c.errs, &Error{File: c.src.fileName(), Line: c.src.line(path), Key: path, Msg: msg, Err: cause})
}

// addf records an error at key path.
func (c *collector) addf(path, format string, args ...any) { c.add(path, nil, format, args...) }

// maxErrors is how many errors are reported for one config; a summary
// line stands for the rest.
const maxErrors = 100

// err returns the collected errors sorted by line, or nil.
func (c *collector) err() error {
	if len(c.errs) == 0 {
		return nil
	}
	slices.SortStableFunc(c.errs, func(a, b *Error) int { return cmp.Compare(a.Line, b.Line) })
	if n := len(c.errs); n > maxErrors {
		c.errs = append(c.errs[:maxErrors:maxErrors], &Error{File: c.src.fileName(),
			Msg: fmt.Sprintf("%d more errors not shown", n-maxErrors)})
	}
	return c.errs
}
