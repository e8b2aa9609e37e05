package report

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// xmlStream reads an XML report token by token, bounding its nesting depth and
// turning every failure into a *ParseError that carries the line.
//
// encoding/xml expands only the five predefined entities and the numeric
// character references: a DOCTYPE that declares its own entities is skipped as
// a directive and any use of them is a syntax error, so entity expansion
// attacks (billion laughs) fail instead of growing.
type xmlStream struct {
	format string
	d      *xml.Decoder
	cap    *capReader
	depth  int
}

func newXMLStream(format string, r io.Reader) *xmlStream {
	br, c := openInput(r)
	d := xml.NewDecoder(br)
	d.CharsetReader = charsetReader
	return &xmlStream{format: format, d: d, cap: c}
}

// errorf returns a *ParseError at the decoder's current line.
func (x *xmlStream) errorf(format string, args ...any) error {
	line, _ := x.d.InputPos()
	return &ParseError{Format: x.format, Line: line, Offset: -1, Err: fmt.Errorf(format, args...)}
}

// wrap turns an error from the decoder into a *ParseError.
func (x *xmlStream) wrap(err error) error {
	var pe *ParseError
	if errors.As(err, &pe) {
		return err
	}
	if isTooLarge(err) || x.cap.exceeded() {
		return &ParseError{Format: x.format, Offset: -1, Err: ErrTooLarge}
	}
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return &ParseError{Format: x.format, Line: se.Line, Offset: -1, Err: errors.New(se.Msg)}
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	line, _ := x.d.InputPos()
	return &ParseError{Format: x.format, Line: line, Offset: -1, Err: err}
}

// next returns the next token, counting nesting depth.
func (x *xmlStream) next() (xml.Token, error) {
	tok, err := x.d.Token()
	if err != nil {
		return nil, x.wrap(err)
	}
	switch tok.(type) {
	case xml.StartElement:
		x.depth++
		if x.depth > maxDepth {
			return nil, x.errorf("elements nested more than %d deep", maxDepth)
		}
	case xml.EndElement:
		x.depth--
	}
	return tok, nil
}

// root returns the document's first element.
func (x *xmlStream) root() (xml.StartElement, error) {
	for {
		tok, err := x.d.Token()
		if errors.Is(err, io.EOF) {
			return xml.StartElement{}, x.errorf("no root element")
		}
		if err != nil {
			return xml.StartElement{}, x.wrap(err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			x.depth = 1
			return se, nil
		}
	}
}

// finish reads past the root element to the end of the input, refusing a
// second root element.
func (x *xmlStream) finish() error {
	for {
		tok, err := x.d.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return x.wrap(err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			return x.errorf("second root element <%s>", se.Name.Local)
		}
	}
}

// skip reads to the end of the element whose start tag was just read.
func (x *xmlStream) skip() error {
	for target := x.depth - 1; x.depth > target; {
		if _, err := x.next(); err != nil {
			return err
		}
	}
	return nil
}

// maxText is how much character data text keeps: more than shorten keeps,
// so that shorten still sees and marks a cut after trimming white space.
const maxText = 2 * maxMessage

// text reads to the end of the element whose start tag was just read and
// returns its character data, keeping at most maxText bytes of it, cut on a
// rune boundary.
func (x *xmlStream) text() (string, error) {
	var b strings.Builder
	for target := x.depth - 1; x.depth > target; {
		tok, err := x.next()
		if err != nil {
			return "", err
		}
		if cd, ok := tok.(xml.CharData); ok && b.Len() < maxText {
			if rest := maxText - b.Len(); len(cd) > rest {
				for rest > 0 && !utf8.RuneStart(cd[rest]) {
					rest--
				}
				cd = cd[:rest]
			}
			b.Write(cd)
		}
	}
	return b.String(), nil
}

// attr returns the value of the attribute with the given local name.
func attr(se xml.StartElement, name string) (string, bool) {
	for _, a := range se.Attr {
		if a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

// charsetReader accepts the single-byte encodings some older tools declare.
// UTF-8 needs no reader; anything else is refused by encoding/xml.
func charsetReader(charset string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "iso-8859-1", "latin1", "latin-1", "us-ascii", "ascii":
		return &latin1Reader{r: input}, nil
	}
	return nil, fmt.Errorf("unsupported encoding %q", charset)
}

// latin1Reader decodes ISO-8859-1 (a superset of US-ASCII) into UTF-8.
type latin1Reader struct {
	r   io.Reader
	buf []byte
	out []byte
}

func (l *latin1Reader) Read(p []byte) (int, error) {
	if len(l.out) == 0 {
		if cap(l.buf) == 0 {
			l.buf = make([]byte, 4096)
		}
		n, err := l.r.Read(l.buf)
		l.out = l.out[:0]
		for _, c := range l.buf[:n] {
			if c < 0x80 {
				l.out = append(l.out, c)
			} else {
				l.out = append(l.out, 0xC0|c>>6, 0x80|c&0x3F)
			}
		}
		if n == 0 {
			return 0, err
		}
	}
	n := copy(p, l.out)
	l.out = l.out[n:]
	return n, nil
}
