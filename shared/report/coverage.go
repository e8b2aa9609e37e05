package report

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"strconv"
	"strings"
)

// ParseCoverage reads line coverage from a Cobertura XML report or a Go cover
// profile, telling them apart by their first bytes.
//
// Cobertura: the root <coverage> element's lines-covered and lines-valid
// attributes, as coverage.py and most converters write them; when a report
// lacks them (older Cobertura), the class-level <line> elements are counted,
// covered when hits > 0 (method-level <line> elements repeat them and are not
// counted again).
//
// Go cover profile ("mode: set|count|atomic" then one
// "file:line.col,line.col statements count" line per block): the Go tool
// measures statements, not lines. Highway treats statement coverage as line
// coverage: Covered and Total count statements, as `go tool cover -func`
// does. A block listed more than once, as `go test -coverpkg` writes it once
// per test binary, counts once, covered if any listing has a count above 0.
func ParseCoverage(r io.Reader) (Coverage, error) {
	br, c := openInput(r)
	first, err := firstByte(br)
	if isTooLarge(err) {
		err = ErrTooLarge
	}
	if err != nil {
		return Coverage{}, &ParseError{Format: "coverage", Offset: -1, Err: err}
	}
	switch first {
	case '<':
		return parseCobertura(br)
	case 'm':
		return parseGoCover(br, c)
	}
	return Coverage{}, &ParseError{Format: "coverage", Line: 1, Offset: -1,
		Err: errors.New("neither Cobertura XML nor a Go cover profile (want \"<\" or \"mode:\" first)")}
}

// firstByte peeks at the first byte that is not white space.
func firstByte(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if errors.Is(err, io.EOF) {
			return 0, errors.New("empty input")
		}
		if err != nil {
			return 0, err
		}
		if b != ' ' && b != '\t' && b != '\r' && b != '\n' {
			return b, br.UnreadByte()
		}
	}
}

// Percent is the covered share of lines, from 0 to 100; 0 when there is
// nothing to cover.
func (c Coverage) Percent() float64 {
	if c.Total <= 0 {
		return 0
	}
	return 100 * float64(c.Covered) / float64(c.Total)
}

func parseCobertura(r io.Reader) (Coverage, error) {
	x := newXMLStream("coverage", r)
	root, err := x.root()
	if err != nil {
		return Coverage{}, err
	}
	if root.Name.Local != "coverage" {
		return Coverage{}, x.errorf("root element <%s>, want Cobertura's <coverage>", root.Name.Local)
	}
	declared, hasDeclared, err := declaredLines(x, root)
	if err != nil {
		return Coverage{}, err
	}
	counted, err := countLines(x)
	if err != nil {
		return Coverage{}, err
	}
	if err := x.finish(); err != nil {
		return Coverage{}, err
	}
	if hasDeclared {
		return declared, nil
	}
	return counted, nil
}

// countLines reads the rest of the root element, counting the class-level
// <line> elements and those with hits.
func countLines(x *xmlStream) (Coverage, error) {
	c := Coverage{Format: "cobertura"}
	// parents holds the names of the open elements below the root, to tell a
	// class's lines from a method's.
	parents := make([]string, 0, maxDepth)
	for {
		tok, err := x.next()
		if err != nil {
			return Coverage{}, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := len(parents)
			if t.Name.Local == "line" && n >= 2 && parents[n-1] == "lines" && parents[n-2] == "class" {
				covered, err := lineHit(x, t)
				if err != nil {
					return Coverage{}, err
				}
				c.Total++
				if covered {
					c.Covered++
				}
			}
			parents = append(parents, t.Name.Local)
		case xml.EndElement:
			if len(parents) == 0 { // the root closed
				return c, nil
			}
			parents = parents[:len(parents)-1]
		}
	}
}

// declaredLines reads the root's lines-covered and lines-valid attributes.
func declaredLines(x *xmlStream, root xml.StartElement) (Coverage, bool, error) {
	coveredAttr, ok1 := attr(root, "lines-covered")
	validAttr, ok2 := attr(root, "lines-valid")
	if !ok1 || !ok2 {
		return Coverage{}, false, nil
	}
	covered, err1 := strconv.Atoi(strings.TrimSpace(coveredAttr))
	valid, err2 := strconv.Atoi(strings.TrimSpace(validAttr))
	switch {
	case err1 != nil || covered < 0:
		return Coverage{}, false, x.errorf("lines-covered %q is not a count", coveredAttr)
	case err2 != nil || valid < 0:
		return Coverage{}, false, x.errorf("lines-valid %q is not a count", validAttr)
	case covered > valid:
		return Coverage{}, false, x.errorf("lines-covered %d is more than lines-valid %d", covered, valid)
	}
	return Coverage{Format: "cobertura", Covered: covered, Total: valid}, true, nil
}

// lineHit reads a <line> element's hits attribute.
func lineHit(x *xmlStream, se xml.StartElement) (bool, error) {
	v, ok := attr(se, "hits")
	if !ok {
		return false, x.errorf("<line> without hits")
	}
	hits, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return false, x.errorf("<line> hits %q is not a count", v)
	}
	return hits > 0, nil
}

// maxProfileLine bounds one line of a Go cover profile.
const maxProfileLine = 64 << 10

// maxBlockStatements bounds the statements one block may claim.
const maxBlockStatements = 1 << 20

// block is what a cover profile says about one block.
type block struct {
	statements int
	covered    bool
}

func parseGoCover(r io.Reader, c *capReader) (Coverage, error) {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 0, 4096), maxProfileLine)
	fail := func(line int, format string, args ...any) (Coverage, error) {
		if c.exceeded() { // the scanner hands over the cut-off last line too
			return Coverage{}, &ParseError{Format: "coverage", Offset: -1, Err: ErrTooLarge}
		}
		return Coverage{}, &ParseError{Format: "coverage", Line: line, Offset: -1, Err: fmt.Errorf(format, args...)}
	}
	var (
		mode   string
		seed   = maphash.MakeSeed()
		blocks = make(map[uint64]block)
		line   = 0
	)
	for s.Scan() {
		line++
		text := bytes.TrimSpace(s.Bytes())
		if len(text) == 0 {
			continue
		}
		if m, ok := bytes.CutPrefix(text, []byte("mode:")); ok {
			m = bytes.TrimSpace(m)
			switch {
			case string(m) != "set" && string(m) != "count" && string(m) != "atomic":
				return fail(line, "mode %q, want set, count or atomic", m)
			case mode != "" && mode != string(m):
				return fail(line, "mode %s after mode %s", m, mode)
			}
			mode = string(m) // profiles concatenated by hand repeat the mode line
			continue
		}
		if mode == "" {
			return fail(line, "want a \"mode:\" line first")
		}
		pos, statements, count, err := profileLine(text)
		if err != nil {
			return fail(line, "%v", err)
		}
		key := maphash.Bytes(seed, pos)
		b, seen := blocks[key]
		switch {
		case !seen && len(blocks) >= maxBlocks:
			return fail(line, "more than %d blocks", maxBlocks)
		case seen && b.statements != statements:
			return fail(line, "block %s has %d statements, listed before with %d", pos, statements, b.statements)
		}
		blocks[key] = block{statements: statements, covered: b.covered || count > 0}
	}
	if err := s.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fail(line+1, "line longer than %d bytes", maxProfileLine)
		}
		return fail(line+1, "%v", err)
	}
	if mode == "" {
		return fail(line, "no \"mode:\" line")
	}
	cov := Coverage{Format: "gocover"}
	for _, b := range blocks {
		cov.Total += b.statements
		if b.covered {
			cov.Covered += b.statements
		}
	}
	return cov, nil
}

// profileLine splits "file:12.3,14.5 2 1" into the block's position
// ("file:12.3,14.5"), its statement count and its execution count.
func profileLine(text []byte) (pos []byte, statements int, count uint64, err error) {
	colon := bytes.LastIndexByte(text, ':')
	if colon <= 0 {
		return nil, 0, 0, fmt.Errorf("%q is not file:start,end statements count", text)
	}
	fields := bytes.Fields(text[colon+1:])
	if len(fields) != 3 || !isRange(fields[0]) {
		return nil, 0, 0, fmt.Errorf("%q is not file:start,end statements count", text)
	}
	pos = text[:colon+1+len(fields[0])]
	n, err := strconv.Atoi(string(fields[1]))
	if err != nil || n < 0 || n > maxBlockStatements {
		return nil, 0, 0, fmt.Errorf("statement count %q is not 0..%d", fields[1], maxBlockStatements)
	}
	count, err = strconv.ParseUint(string(fields[2]), 10, 64)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("execution count %q is not a count", fields[2])
	}
	return pos, n, count, nil
}

// isRange reports whether b looks like "12.3,14.5".
func isRange(b []byte) bool {
	from, to, ok := bytes.Cut(b, []byte(","))
	return ok && isLineCol(from) && isLineCol(to)
}

func isLineCol(b []byte) bool {
	line, col, ok := bytes.Cut(b, []byte("."))
	return ok && isDigits(line) && isDigits(col)
}

func isDigits(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
