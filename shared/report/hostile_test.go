package report

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/highwayhq/highway/shared/longtest"
)

// repeatReader streams head, then body a number of times, then tail, without
// holding the whole input.
type repeatReader struct {
	head, body, tail string
	left             int64 // body bytes still to send
	off              int   // position in body
}

// repeated returns a reader of head, count copies of body, and tail.
func repeated(head, body, tail string, count int64) *repeatReader {
	return &repeatReader{head: head, body: body, tail: tail, left: count * int64(len(body))}
}

// repeatedTo returns a reader like repeated with enough copies of body to
// make at least size bytes.
func repeatedTo(head, body, tail string, size int64) *repeatReader {
	need := size - int64(len(head)+len(tail))
	return repeated(head, body, tail, (need+int64(len(body))-1)/int64(len(body)))
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		var c int
		switch {
		case r.head != "":
			c = copy(p[n:], r.head)
			r.head = r.head[c:]
		case r.left > 0:
			c = copy(p[n:], r.body[r.off:])
			r.off = (r.off + c) % len(r.body)
			r.left -= int64(c)
		case r.tail != "":
			c = copy(p[n:], r.tail)
			r.tail = r.tail[c:]
		case n == 0:
			return 0, io.EOF
		default:
			return n, nil
		}
		n += c
	}
	return n, nil
}

// TestOversizedInputsAreRefused sends each parser an input past the cap: 70
// MiB past the 64 MiB of MaxBytes under make test-long; under make test, 3
// MiB past a cap lowered to 2 MiB, which takes each parser through the same
// cap in a tenth of the time (TestCapReader holds the cap to MaxBytes). It
// does not run in parallel with other tests, so the lowered cap is its own.
func TestOversizedInputsAreRefused(t *testing.T) {
	size := int64(longtest.Size(t, "MiB of input", 3, 70)) << 20
	if size < MaxBytes {
		inputLimit = 2 << 20
		t.Cleanup(func() { inputLimit = MaxBytes })
	}
	tests := []struct {
		name   string
		format string
		parse  func(io.Reader) error
		head   string
		body   string
		tail   string
	}{
		{
			name:   "junit",
			format: "junit",
			parse:  func(r io.Reader) error { _, err := ParseJUnit(r); return err },
			// One property's value of 70 MiB: the cap, not the parser's
			// pace through elements, must end it.
			head: `<testsuites><testsuite name="big"><properties><property name="k" value="`,
			body: `vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv`,
			tail: `"/></properties></testsuite></testsuites>`,
		},
		{
			name:   "sarif",
			format: "sarif",
			parse:  func(r io.Reader) error { _, err := ParseSARIF(r); return err },
			head:   `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"properties":{"pad":[`,
			body:   `"padding",`,
			tail:   `"end"]}}]}`,
		},
		{
			name:   "cobertura",
			format: "coverage",
			parse:  func(r io.Reader) error { _, err := ParseCoverage(r); return err },
			head:   `<coverage><sources><source>`,
			body:   `/src/src/src/src/src/src/src/src`,
			tail:   `</source></sources></coverage>`,
		},
		{
			name:   "go cover profile",
			format: "coverage",
			parse:  func(r io.Reader) error { _, err := ParseCoverage(r); return err },
			head:   "mode: set\n",
			body:   "a.go:1.1,2.2 1 1\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.parse(repeatedTo(tt.head, tt.body, tt.tail, size))
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("parse(%d MiB) error = %v, want ErrTooLarge", size>>20, err)
			}
			if want := tt.format + ": input larger than 64 MiB"; err.Error() != want {
				t.Errorf("parse(%d MiB) error = %q, want %q", size>>20, err, want)
			}
		})
	}
}

func TestCapReader(t *testing.T) {
	tests := []struct {
		name    string
		size    int64
		wantN   int64
		wantErr error
	}{
		{name: "exactly MaxBytes passes", size: MaxBytes, wantN: MaxBytes},
		{name: "one byte more is refused", size: MaxBytes + 1, wantN: MaxBytes, wantErr: ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := io.Copy(io.Discard, &capReader{r: io.LimitReader(zeros{}, tt.size)})
			if n != tt.wantN || !errors.Is(err, tt.wantErr) {
				t.Errorf("copy through capReader = %d, %v; want %d, %v", n, err, tt.wantN, tt.wantErr)
			}
		})
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestEntityExpansionFails(t *testing.T) {
	const laughs = `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
`
	tests := []struct {
		name  string
		parse func(io.Reader) error
		give  string
		want  string
	}{
		{
			name:  "junit attribute",
			parse: func(r io.Reader) error { _, err := ParseJUnit(r); return err },
			give:  laughs + `<testsuite name="&lol9;"/>`,
			want:  "junit: line 9: invalid character entity &lol9;",
		},
		{
			name:  "junit text",
			parse: func(r io.Reader) error { _, err := ParseJUnit(r); return err },
			give:  laughs + `<testsuite><testcase><failure>&lol9;</failure></testcase></testsuite>`,
			want:  "junit: line 9: invalid character entity &lol9;",
		},
		{
			name:  "cobertura",
			parse: func(r io.Reader) error { _, err := ParseCoverage(r); return err },
			give:  laughs + `<coverage><sources><source>&lol9;</source></sources></coverage>`,
			want:  "coverage: line 9: invalid character entity &lol9;",
		},
		{
			name:  "external entity",
			parse: func(r io.Reader) error { _, err := ParseJUnit(r); return err },
			give:  `<!DOCTYPE t [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><testsuite name="&xxe;"/>`,
			want:  "junit: line 1: invalid character entity &xxe;",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.parse(strings.NewReader(tt.give))
			if err == nil || err.Error() != tt.want {
				t.Errorf("parse(entity expansion) error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestDeepNestingFails(t *testing.T) {
	const deep = 100_000
	tests := []struct {
		name  string
		parse func(io.Reader) error
		give  string
		want  string
	}{
		{
			name:  "junit suites",
			parse: func(r io.Reader) error { _, err := ParseJUnit(r); return err },
			give:  "<testsuites>" + strings.Repeat("<testsuite>", deep),
			want:  "junit: line 1: elements nested more than 64 deep",
		},
		{
			name:  "junit inside a skipped element",
			parse: func(r io.Reader) error { _, err := ParseJUnit(r); return err },
			give:  "<testsuite><properties>" + strings.Repeat("<p>", deep),
			want:  "junit: line 1: elements nested more than 64 deep",
		},
		{
			name:  "cobertura",
			parse: func(r io.Reader) error { _, err := ParseCoverage(r); return err },
			give:  "<coverage>" + strings.Repeat("<x>", deep),
			want:  "coverage: line 1: elements nested more than 64 deep",
		},
		{
			name:  "sarif arrays in an unknown member",
			parse: func(r io.Reader) error { _, err := ParseSARIF(r); return err },
			give:  `{"runs":[{"extra":` + strings.Repeat("[", deep),
			want:  "sarif: runs[0].extra: values nested more than 64 deep",
		},
		{
			name:  "sarif objects in a property bag",
			parse: func(r io.Reader) error { _, err := ParseSARIF(r); return err },
			give:  `{"runs":[{"results":[{"properties":` + strings.Repeat(`{"a":`, deep),
			want:  "sarif: runs[0].results[0].properties.a: values nested more than 64 deep",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.parse(strings.NewReader(tt.give))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("parse(%d deep) error = %v, want %q", deep, err, tt.want)
			}
		})
	}
}

func TestElementCountLimits(t *testing.T) {
	tests := []struct {
		name  string
		parse func(io.Reader) error
		give  io.Reader
		want  string
	}{
		{
			name:  "test cases",
			parse: func(r io.Reader) error { _, err := ParseJUnit(r); return err },
			give:  repeated("<testsuite>", `<testcase name="t"/>`, "</testsuite>", maxCases+1),
			want:  "more than 500000 test cases",
		},
		{
			name:  "test suites",
			parse: func(r io.Reader) error { _, err := ParseJUnit(r); return err },
			give:  repeated("<testsuites>", `<testsuite/>`, "</testsuites>", maxSuites+1),
			want:  "more than 100000 test suites",
		},
		{
			name:  "sarif results",
			parse: func(r io.Reader) error { _, err := ParseSARIF(r); return err },
			give:  repeated(`{"runs":[{"results":[{}`, `,{}`, `]}]}`, maxResults),
			want:  "more than 500000 results",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // each parses its own reader
			err := tt.parse(tt.give)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parse error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestHugeNumbersDoNotAllocate(t *testing.T) {
	// Declared counts and indexes are never used to size anything.
	allocs := testing.AllocsPerRun(5, func() {
		runs, err := ParseSARIF(strings.NewReader(sarifLog(`{"driver":{"name":"x","rules":[{"id":"a"}]}}`,
			`{"ruleId":"a","ruleIndex":9223372036854775807,"rule":{"toolComponent":{"index":9223372036854775807}},"locations":[{"physicalLocation":{"region":{"startLine":9223372036854775807}}}]}`)))
		if err != nil || len(runs[0].Results) != 1 {
			t.Fatalf("ParseSARIF = %v, %v", runs, err)
		}
		tests, err := ParseJUnit(strings.NewReader(`<testsuite tests="9223372036854775807" failures="9223372036854775807"><testcase name="t"/></testsuite>`))
		if total, _, _, _ := tests.Counts(); err != nil || total != 1 {
			t.Fatalf("ParseJUnit = %d cases, %v", total, err)
		}
	})
	if allocs > 1000 {
		t.Errorf("parsing two tiny reports took %v allocations", allocs)
	}
}
