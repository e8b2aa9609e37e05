package report

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Limits that keep a hostile report from costing more than a real one. Every
// parser also stops at MaxBytes.
const (
	// maxDepth is the deepest element or JSON value nesting accepted. Real
	// reports nest about 15 deep (SARIF code flows); JUnit and Cobertura less.
	maxDepth = 64
	// maxCases is the most test cases one JUnit report may hold.
	maxCases = 500_000
	// maxSuites is the most test suites one JUnit report may hold.
	maxSuites = 100_000
	// maxResults is the most results one SARIF log may hold.
	maxResults = 500_000
	// maxRules is the most rules one SARIF log may declare.
	maxRules = 200_000
	// maxRuns is the most runs one SARIF log may hold.
	maxRuns = 1_000
	// maxBlocks is the most distinct blocks a Go cover profile may list.
	maxBlocks = 2_000_000
	// maxMessage is the longest message kept, in bytes; longer ones are cut.
	maxMessage = 1024
)

// ErrTooLarge reports an input longer than MaxBytes. Parsers return it wrapped
// in a *ParseError, so test it with errors.Is.
var ErrTooLarge = fmt.Errorf("input larger than %d MiB", MaxBytes>>20)

// ParseError is why a report was refused and, when known, where.
type ParseError struct {
	// Format is "junit", "sarif" or "coverage".
	Format string
	// Line is the 1-based line of the problem, 0 when unknown.
	Line int
	// Offset is the byte offset of the problem, -1 when unknown.
	Offset int64
	// Path locates the problem inside a JSON document, for example
	// "runs[0].results[3].level"; empty for XML and text formats.
	Path string
	// Err is the problem itself.
	Err error
}

// Error reads like "junit: line 12: unexpected EOF" or
// "sarif: runs[0].results[3].level: want a string, got a number (byte 912)".
func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString(e.Format)
	b.WriteString(": ")
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	if e.Line == 0 && e.Offset >= 0 {
		fmt.Fprintf(&b, " (byte %d)", e.Offset)
	}
	return b.String()
}

// Unwrap returns the underlying problem, so errors.Is(err, ErrTooLarge) works.
func (e *ParseError) Unwrap() error { return e.Err }

// inputLimit is the cap capReader applies: MaxBytes. Only the short version
// of TestOversizedInputsAreRefused lowers it, while no other test runs, to
// send each parser a few MiB past the cap instead of 70 MiB.
var inputLimit int64 = MaxBytes

// capReader passes at most MaxBytes through and fails with ErrTooLarge as soon
// as the source has more: a long report is refused, never silently truncated.
type capReader struct {
	r io.Reader
	n int64 // bytes passed through so far
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.n > inputLimit {
		return 0, ErrTooLarge
	}
	// Ask for at most one byte past the limit: enough to know it was crossed.
	if left := inputLimit + 1 - c.n; int64(len(p)) > left {
		p = p[:left]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n > inputLimit {
		return n - int(c.n-inputLimit), ErrTooLarge
	}
	return n, err
}

// exceeded reports whether the source turned out longer than MaxBytes. A
// decoder that read up to the limit may fail on the cut-off data before it
// sees ErrTooLarge; its error is then reported as ErrTooLarge.
func (c *capReader) exceeded() bool { return c.n > inputLimit }

// openInput caps r at MaxBytes and drops a leading UTF-8 byte order mark,
// which some Windows tools write and neither encoding/xml nor encoding/json
// accept.
func openInput(r io.Reader) (*bufio.Reader, *capReader) {
	c := &capReader{r: r}
	br := bufio.NewReaderSize(c, 64<<10)
	if b, err := br.Peek(3); err == nil && string(b) == "\uFEFF" {
		_, _ = br.Discard(3)
	}
	return br, c
}

// shorten trims a report's message and cuts it to maxMessage bytes.
func shorten(s string) string { return Shorten(strings.TrimSpace(s), maxMessage) }

// Shorten cuts s to at most n bytes on a rune boundary, ending a cut with "…"
// (counted in n), so text from a report fits where AWS limits its length.
func Shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := max(n-len("…"), 0)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// isTooLarge reports whether err is, or wraps, ErrTooLarge.
func isTooLarge(err error) bool { return errors.Is(err, ErrTooLarge) }
