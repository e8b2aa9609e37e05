package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// jsonStream walks a JSON document token by token. Unlike decoding into
// structs it knows where it is, so a value of the wrong type is reported as
// "runs[0].results[3].level: want a string, got a number" rather than decoded
// as a silent zero, and it bounds nesting depth. JSON null is read as absent.
type jsonStream struct {
	format string
	dec    *json.Decoder
	cap    *capReader
	depth  int
	start  int64 // where the last token began, for errors about its value
}

func newJSONStream(format string, r io.Reader) *jsonStream {
	br, c := openInput(r)
	dec := json.NewDecoder(br)
	dec.UseNumber()
	return &jsonStream{format: format, dec: dec, cap: c}
}

// jpath is where a value sits in the document: a chain from the value back to
// the root, formatted only when an error needs it.
type jpath struct {
	parent *jpath
	key    string // object member name
	index  int    // array index, when elem is set
	elem   bool
}

func (p *jpath) field(k string) *jpath { return &jpath{parent: p, key: k} }
func (p *jpath) at(i int) *jpath       { return &jpath{parent: p, index: i, elem: true} }

func (p *jpath) String() string {
	var parts []string
	for q := p; q != nil; q = q.parent {
		if q.elem {
			parts = append(parts, "["+strconv.Itoa(q.index)+"]")
		} else {
			parts = append(parts, "."+q.key)
		}
	}
	var b strings.Builder
	for i := len(parts) - 1; i >= 0; i-- {
		b.WriteString(parts[i])
	}
	return strings.TrimPrefix(b.String(), ".")
}

// errorAt returns a *ParseError for the value at p, which begins with the
// last token read.
func (j *jsonStream) errorAt(p *jpath, format string, args ...any) error {
	path := ""
	if p != nil {
		path = p.String()
	}
	return &ParseError{Format: j.format, Path: path, Offset: j.start, Err: fmt.Errorf(format, args...)}
}

// token reads the next token, turning decoder failures into *ParseError.
func (j *jsonStream) token(p *jpath) (json.Token, error) {
	tok, err := j.dec.Token()
	if err != nil {
		return nil, j.decodeError(p, err)
	}
	j.start = j.dec.InputOffset() - tokenLength(tok)
	return tok, nil
}

// tokenLength is about how many bytes a token took in the input (exactly,
// unless a string holds escapes).
func tokenLength(tok json.Token) int64 {
	switch t := tok.(type) {
	case string:
		return int64(len(t) + 2)
	case json.Number:
		return int64(len(t))
	case bool:
		if t {
			return 4
		}
		return 5
	case nil:
		return 4
	}
	return 1 // a delimiter
}

// decodeError turns a failure of the decoder into a *ParseError.
func (j *jsonStream) decodeError(p *jpath, err error) error {
	off := j.dec.InputOffset()
	var se *json.SyntaxError
	switch {
	case isTooLarge(err) || j.cap.exceeded():
		return &ParseError{Format: j.format, Offset: -1, Err: ErrTooLarge}
	case errors.As(err, &se) && strings.HasSuffix(se.Error(), "exceeded max depth"):
		return j.errorAt(p, "values nested more than %d deep", maxDepth)
	case errors.As(err, &se):
		off = se.Offset
	case errors.Is(err, io.EOF):
		err = io.ErrUnexpectedEOF
	}
	path := ""
	if p != nil {
		path = p.String()
	}
	return &ParseError{Format: j.format, Path: path, Offset: off, Err: err}
}

// describe names a token's JSON type for error messages.
func describe(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' {
			return "an object"
		}
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	default:
		return "null"
	}
}

func (j *jsonStream) enter(p *jpath) error {
	j.depth++
	if j.depth > maxDepth {
		return j.errorAt(p, "values nested more than %d deep", maxDepth)
	}
	return nil
}

// object reads an object, calling member for each member name; member must
// consume the member's value. A null is accepted as an absent object.
func (j *jsonStream) object(p *jpath, member func(key string) error) error {
	tok, err := j.token(p)
	if err != nil || tok == nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return j.errorAt(p, "want an object, got %s", describe(tok))
	}
	if err := j.enter(p); err != nil {
		return err
	}
	for j.dec.More() {
		tok, err := j.token(p)
		if err != nil {
			return err
		}
		key, _ := tok.(string) // the decoder only yields strings as member names
		if err := member(key); err != nil {
			return err
		}
	}
	if _, err := j.token(p); err != nil { // the closing brace
		return err
	}
	j.depth--
	return nil
}

// array reads an array, calling elem for each element; elem must consume the
// element. A null is accepted as an absent array.
func (j *jsonStream) array(p *jpath, elem func(i int) error) error {
	tok, err := j.token(p)
	if err != nil || tok == nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return j.errorAt(p, "want an array, got %s", describe(tok))
	}
	if err := j.enter(p); err != nil {
		return err
	}
	for i := 0; j.dec.More(); i++ {
		if err := elem(i); err != nil {
			return err
		}
	}
	if _, err := j.token(p); err != nil { // the closing bracket
		return err
	}
	j.depth--
	return nil
}

// str reads a string; null gives "".
func (j *jsonStream) str(p *jpath) (string, error) {
	tok, err := j.token(p)
	if err != nil || tok == nil {
		return "", err
	}
	s, ok := tok.(string)
	if !ok {
		return "", j.errorAt(p, "want a string, got %s", describe(tok))
	}
	return s, nil
}

// integer reads a whole number; null gives absent.
func (j *jsonStream) integer(p *jpath) (n int64, present bool, err error) {
	tok, err := j.token(p)
	if err != nil || tok == nil {
		return 0, false, err
	}
	num, ok := tok.(json.Number)
	if !ok {
		return 0, false, j.errorAt(p, "want an integer, got %s", describe(tok))
	}
	n, err = strconv.ParseInt(string(num), 10, 64)
	if err != nil {
		return 0, false, j.errorAt(p, "want an integer, got %s", num)
	}
	return n, true, nil
}

// score reads a number that may be written as a JSON number or as a numeric
// string, as SARIF producers differ on security-severity; null gives absent.
func (j *jsonStream) score(p *jpath) (f float64, present bool, err error) {
	tok, err := j.token(p)
	if err != nil || tok == nil {
		return 0, false, err
	}
	var text string
	switch t := tok.(type) {
	case json.Number:
		text = string(t)
	case string:
		text = strings.TrimSpace(t)
	default:
		return 0, false, j.errorAt(p, "want a number or a numeric string, got %s", describe(tok))
	}
	f, err = strconv.ParseFloat(text, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false, j.errorAt(p, "%q is not a number", text)
	}
	if f < 0 || f > 10 {
		return 0, false, j.errorAt(p, "%g is outside 0..10", f)
	}
	return f, true, nil
}

// skip reads and discards one value of any type. Token by token is slow, so
// it lets encoding/json scan whole any member or element that is already
// buffered, checking its nesting on the raw bytes; larger arrays and objects
// it walks a level at a time, so a huge one is never held whole.
func (j *jsonStream) skip(p *jpath) error {
	tok, err := j.token(p)
	if err != nil {
		return err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	if err := j.enter(p); err != nil {
		return err
	}
	var raw json.RawMessage
	for j.dec.More() {
		if d == '{' {
			if _, err := j.token(p); err != nil { // the member name
				return err
			}
		}
		if first, whole := j.lookAhead(); first == 0 || (first == '{' || first == '[') && !whole {
			if err := j.skip(p); err != nil {
				return err
			}
			continue
		}
		if err := j.dec.Decode(&raw); err != nil {
			return j.decodeError(p, err)
		}
		if j.depth+nesting(raw) > maxDepth {
			return j.errorAt(p, "values nested more than %d deep", maxDepth)
		}
	}
	if _, err := j.token(p); err != nil { // the closing bracket or brace
		return err
	}
	j.depth--
	return nil
}

// lookAhead inspects the next value in the decoder's buffer: its first byte
// (0 when none is buffered) and, for an array or object, whether the buffer
// already holds all of it.
func (j *jsonStream) lookAhead() (first byte, whole bool) {
	r, ok := j.dec.Buffered().(io.ByteReader)
	if !ok {
		return 0, false
	}
	depth := 0
	inString, escaped := false, false
	for {
		c, err := r.ReadByte()
		if err != nil {
			return first, false
		}
		switch {
		case first == 0:
			switch c {
			case ' ', '\t', '\r', '\n', ':', ',':
				continue
			}
			first, depth = c, 1
			if c != '{' && c != '[' {
				return first, false
			}
		case escaped:
			escaped = false
		case inString:
			switch c {
			case '\\':
				escaped = true
			case '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			if depth--; depth == 0 {
				return first, true
			}
		}
	}
}

// nesting returns how deeply arrays and objects nest in a valid JSON value.
func nesting(raw []byte) int {
	depth, deepest := 0, 0
	inString, escaped := false, false
	for _, c := range raw {
		switch {
		case escaped:
			escaped = false
		case inString:
			switch c {
			case '\\':
				escaped = true
			case '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			deepest = max(deepest, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return deepest
}

// end checks that nothing but white space follows the document.
func (j *jsonStream) end() error {
	if _, err := j.dec.Token(); !errors.Is(err, io.EOF) {
		if isTooLarge(err) || j.cap.exceeded() {
			return &ParseError{Format: j.format, Offset: -1, Err: ErrTooLarge}
		}
		return &ParseError{Format: j.format, Offset: j.dec.InputOffset(), Err: errors.New("unexpected data after the document")}
	}
	return nil
}
