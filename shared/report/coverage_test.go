package report

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestParseCoverageRealReports checks coverage written by the tools themselves
// (testdata/README.md says how) against numbers checked by hand and by
// `go tool cover -func`.
func TestParseCoverageRealReports(t *testing.T) {
	tests := []struct {
		name string
		give string
		want Coverage
	}{
		{
			name: "coverage.py 6.5 Cobertura via pytest-cov",
			give: "cobertura-pytest-cov.xml",
			want: Coverage{Format: "cobertura", Covered: 11, Total: 19},
		},
		{
			// go tool cover -func: 57.1% of statements.
			name: "go test -coverprofile, mode set",
			give: "gocover-set.out",
			want: Coverage{Format: "gocover", Covered: 8, Total: 14},
		},
		{
			// Each of the two test binaries lists every block of both
			// packages; go tool cover -func: 71.4% of statements.
			name: "go test -coverpkg=./... -covermode=count, blocks listed twice",
			give: "gocover-coverpkg-count.out",
			want: Coverage{Format: "gocover", Covered: 10, Total: 14},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := os.Open("testdata/" + tt.give)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, err := ParseCoverage(f)
			if err != nil || got != tt.want {
				t.Errorf("ParseCoverage(%s) = %+v, %v; want %+v", tt.give, got, err, tt.want)
			}
		})
	}
}

// TestParseCoberturaCountsLines removes the totals from the real report, as
// older Cobertura writers leave them out, and expects the same numbers from
// counting <line> elements.
func TestParseCoberturaCountsLines(t *testing.T) {
	data, err := os.ReadFile("testdata/cobertura-pytest-cov.xml")
	if err != nil {
		t.Fatal(err)
	}
	stripped := regexp.MustCompile(` lines-(valid|covered)="\d+"`).ReplaceAllString(string(data), "")
	if stripped == string(data) {
		t.Fatal("testdata report has no totals to remove")
	}
	got, err := ParseCoverage(strings.NewReader(stripped))
	if want := (Coverage{Format: "cobertura", Covered: 11, Total: 19}); err != nil || got != want {
		t.Errorf("ParseCoverage(report without totals) = %+v, %v; want %+v", got, err, want)
	}
}

func TestParseCoverageShapes(t *testing.T) {
	tests := []struct {
		name string
		give string
		want Coverage
	}{
		{
			name: "method lines repeat class lines and are not counted twice",
			give: `<coverage><packages><package name="p"><classes><class name="C" filename="C.java">` +
				`<methods><method name="m"><lines><line number="3" hits="2"/><line number="4" hits="0"/></lines></method></methods>` +
				`<lines><line number="3" hits="2"/><line number="4" hits="0"/><line number="9" hits="5"/></lines>` +
				`</class></classes></package></packages></coverage>`,
			want: Coverage{Format: "cobertura", Covered: 2, Total: 3},
		},
		{
			name: "classic Cobertura with a DOCTYPE and no totals",
			give: `<?xml version="1.0"?>` + "\n" +
				`<!DOCTYPE coverage SYSTEM "http://cobertura.sourceforge.net/xml/coverage-04.dtd">` + "\n" +
				`<coverage line-rate="0.5" branch-rate="0" version="1.9" timestamp="1"><packages><package name="p"><classes>` +
				`<class name="A" filename="A.java"><lines><line number="1" hits="1" branch="false"/><line number="2" hits="0" branch="false"/></lines></class>` +
				`<class name="B" filename="B.java"><lines><line number="5" hits="12345678901" branch="false"/><line number="6" hits="0" branch="false"/></lines></class>` +
				`</classes></package></packages></coverage>`,
			want: Coverage{Format: "cobertura", Covered: 2, Total: 4},
		},
		{
			name: "declared totals win over counted lines",
			give: `<?xml version="1.0" ?><coverage lines-valid="10" lines-covered="4"><packages/></coverage>`,
			want: Coverage{Format: "cobertura", Covered: 4, Total: 10},
		},
		{
			name: "profile with no blocks",
			give: "mode: atomic\n",
			want: Coverage{Format: "gocover"},
		},
		{
			name: "concatenated profiles repeat the mode line; duplicates count once",
			give: "mode: count\na.go:1.1,2.2 3 0\n\nmode: count\na.go:1.1,2.2 3 4\nb.go:1.1,1.9 1 0\n",
			want: Coverage{Format: "gocover", Covered: 3, Total: 4},
		},
		{
			name: "Windows path with a drive colon",
			give: "mode: set\r\nC:/src/a.go:1.1,2.2 2 1\r\n",
			want: Coverage{Format: "gocover", Covered: 2, Total: 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCoverage(strings.NewReader(tt.give))
			if err != nil || got != tt.want {
				t.Errorf("ParseCoverage(%q) = %+v, %v; want %+v", tt.give, got, err, tt.want)
			}
		})
	}
}

func TestParseCoverageErrors(t *testing.T) {
	tests := []struct {
		name string
		give string
		want string
	}{
		{name: "empty", give: "", want: "coverage: empty input"},
		{name: "blank", give: " \n\t", want: "coverage: empty input"},
		{name: "unknown format", give: "TN:\nSF:a.c\n", want: `coverage: line 1: neither Cobertura XML nor a Go cover profile (want "<" or "mode:" first)`},
		{name: "other XML", give: `<testsuites/>`, want: "coverage: line 1: root element <testsuites>, want Cobertura's <coverage>"},
		{name: "truncated Cobertura", give: "<coverage>\n<packages>", want: "coverage: line 2: unexpected EOF"},
		{name: "covered above valid", give: `<coverage lines-covered="5" lines-valid="4"/>`, want: "coverage: line 1: lines-covered 5 is more than lines-valid 4"},
		{name: "negative total", give: `<coverage lines-covered="0" lines-valid="-4"/>`, want: `coverage: line 1: lines-valid "-4" is not a count`},
		{name: "bad hits", give: `<coverage><class><lines><line number="1" hits="-1"/></lines></class></coverage>`, want: `coverage: line 1: <line> hits "-1" is not a count`},
		{name: "line without hits", give: `<coverage><class><lines><line number="1"/></lines></class></coverage>`, want: "coverage: line 1: <line> without hits"},
		{name: "unknown mode", give: "mode: fast\n", want: `coverage: line 1: mode "fast", want set, count or atomic`},
		{name: "mode changes", give: "mode: set\nmode: count\n", want: "coverage: line 2: mode count after mode set"},
		{name: "block before mode", give: "m.go:1.1,2.2 1 1\n", want: `coverage: line 1: want a "mode:" line first`},
		{name: "malformed block", give: "mode: set\na.go:1.1,2.2 1\n", want: `coverage: line 2: "a.go:1.1,2.2 1" is not file:start,end statements count`},
		{name: "malformed range", give: "mode: set\na.go:1,2.2 1 1\n", want: `coverage: line 2: "a.go:1,2.2 1 1" is not file:start,end statements count`},
		{name: "negative count", give: "mode: set\na.go:1.1,2.2 1 -1\n", want: `coverage: line 2: execution count "-1" is not a count`},
		{name: "absurd statements", give: "mode: set\na.go:1.1,2.2 99999999999 1\n", want: `coverage: line 2: statement count "99999999999" is not 0..1048576`},
		{name: "inconsistent duplicate", give: "mode: set\na.go:1.1,2.2 1 1\na.go:1.1,2.2 2 1\n", want: "coverage: line 3: block a.go:1.1,2.2 has 2 statements, listed before with 1"},
		{name: "overlong line", give: "mode: set\n" + strings.Repeat("x", maxProfileLine+1), want: "coverage: line 2: line longer than 65536 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCoverage(strings.NewReader(tt.give))
			if err == nil || err.Error() != tt.want {
				t.Errorf("ParseCoverage(%.40q) error = %v, want %q", tt.give, err, tt.want)
			}
		})
	}
}

func TestCoveragePercent(t *testing.T) {
	tests := []struct {
		give Coverage
		want float64
	}{
		{give: Coverage{}, want: 0},
		{give: Coverage{Covered: 1, Total: 4}, want: 25},
		{give: Coverage{Covered: 3, Total: 3}, want: 100},
	}
	for _, tt := range tests {
		if got := tt.give.Percent(); got != tt.want {
			t.Errorf("%+v.Percent() = %v, want %v", tt.give, got, tt.want)
		}
	}
}
