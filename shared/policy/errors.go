package policy

import (
	"fmt"
	"strings"
)

// Error is one problem in a policy file, placed by line and column so that a
// synth log or an editor leads straight to it.
type Error struct {
	// File is the name given to Parse, or the path given to Load.
	File string
	// Line is 1-based; 0 when the problem has no position in the file.
	Line int
	// Column is 1-based; 0 when unknown.
	Column int
	// Path locates the value in the policy, for example apps[0].environments[1].name;
	// empty for the file as a whole.
	Path string
	// Msg says what is wrong and, where it can, how to fix it.
	Msg string
}

// Error formats the problem as file:line:column: path: message, the form editors
// and CI annotations recognise.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteByte(':')
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "%d:", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, "%d:", e.Column)
		}
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one policy file, sorted by position, so one run
// of the synth shows all of them.
type Errors []*Error

// Error prints one problem per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes each problem to errors.As and errors.Is.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}
