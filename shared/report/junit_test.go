package report

import (
	"errors"
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

// parseJUnitFile parses a file under testdata.
func parseJUnitFile(t *testing.T, name string) Tests {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tests, err := ParseJUnit(f)
	if err != nil {
		t.Fatalf("ParseJUnit(%s): %v", name, err)
	}
	return tests
}

// TestParseJUnitRealReports checks reports written by the tools themselves
// (testdata/README.md says how each was made) against counts taken by hand
// from the files.
func TestParseJUnitRealReports(t *testing.T) {
	type counts struct{ total, failed, errored, skipped int }
	tests := []struct {
		name         string
		give         string
		want         counts
		wantSuites   int
		wantDuration time.Duration
		// one case to look at closely
		wantKey     string
		wantStatus  Status
		wantMessage string
	}{
		{
			name:         "go-junit-report v2 over go test -v, with a panic",
			give:         "junit-go-junit-report.xml",
			want:         counts{total: 10, failed: 2, errored: 0, skipped: 1},
			wantSuites:   2,
			wantDuration: 99 * time.Millisecond, // 0.015 + 0.084
			wantKey:      "example.com/shapes/shapes.TestNeedsDatabase",
			wantStatus:   Skipped,
			wantMessage:  "Skipped",
		},
		{
			name:         "pytest --junitxml with a setup error, skips and an xfail",
			give:         "junit-pytest.xml",
			want:         counts{total: 10, failed: 1, errored: 1, skipped: 3},
			wantSuites:   1,
			wantDuration: 34 * time.Millisecond,
			wantKey:      "test_inventory.test_uses_broken_fixture",
			wantStatus:   Errored,
			wantMessage:  `failed on setup with "RuntimeError: database unavailable"`,
		},
		{
			// jest-junit writes a test.todo as a test case with no outcome
			// element and leaves it out of its tests="6" attribute; counts
			// come from elements, so it is a passed case here.
			name:         "jest-junit, one suite per test file",
			give:         "junit-jest.xml",
			want:         counts{total: 9, failed: 2, errored: 0, skipped: 1},
			wantSuites:   2,
			wantDuration: 254 * time.Millisecond, // 0.214 + 0.04
			wantKey:      "discount rounds to cents.discount rounds to cents",
			wantStatus:   Skipped,
			wantMessage:  "",
		},
		{
			name:         "Maven Surefire 2.13, two assertion failures",
			give:         "junit-surefire-failing.xml",
			want:         counts{total: 2, failed: 2},
			wantSuites:   1,
			wantDuration: 14 * time.Millisecond,
			wantKey:      "org.apache.maven.surefire.test.FailingTest.setTestAndRetrieveValue",
			wantStatus:   Failed,
			wantMessage:  "Expected: \"bar\"\n     got: \"foo\"",
		},
		{
			name:         "Maven Surefire, an error with a nested cause",
			give:         "junit-surefire-error.xml",
			want:         counts{total: 1, errored: 1},
			wantSuites:   1,
			wantDuration: 0,
			wantKey:      "surefire.MyTest.test",
			wantStatus:   Errored,
			wantMessage:  "java.lang.IndexOutOfBoundsException",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseJUnitFile(t, tt.give)
			var c counts
			c.total, c.failed, c.errored, c.skipped = got.Counts()
			if c != tt.want {
				t.Errorf("Counts() = %+v, want %+v", c, tt.want)
			}
			if len(got.Suites) != tt.wantSuites {
				t.Errorf("len(Suites) = %d, want %d", len(got.Suites), tt.wantSuites)
			}
			if d := got.Duration(); d != tt.wantDuration {
				t.Errorf("Duration() = %v, want %v", d, tt.wantDuration)
			}
			c0, ok := findCase(got, tt.wantKey)
			if !ok {
				t.Fatalf("no case with Key() %q", tt.wantKey)
			}
			if c0.Status != tt.wantStatus || c0.Message != tt.wantMessage {
				t.Errorf("case %s = %s %q, want %s %q", tt.wantKey, c0.Status, c0.Message, tt.wantStatus, tt.wantMessage)
			}
		})
	}
}

func findCase(t Tests, key string) (Case, bool) {
	for _, s := range t.Suites {
		for _, c := range s.Cases {
			if c.Key() == key {
				return c, true
			}
		}
	}
	return Case{}, false
}

func TestParseJUnitShapes(t *testing.T) {
	type suite struct {
		name     string
		cases    string // "key=status" joined by spaces
		duration time.Duration
	}
	tests := []struct {
		name string
		give string
		want []suite
	}{
		{
			name: "nested suites are flattened and a parent keeps only its own cases' time",
			give: `<testsuites><testsuite name="outer" time="3"><testcase classname="o" name="a" time="1"/>` +
				`<testsuite name="inner" time="2"><testcase classname="i" name="b" time="2"/></testsuite>` +
				`</testsuite></testsuites>`,
			want: []suite{
				{name: "outer", cases: "o.a=passed", duration: time.Second},
				{name: "inner", cases: "i.b=passed", duration: 2 * time.Second},
			},
		},
		{
			name: "cases directly under testsuites gather in a suite named after it",
			give: `<testsuites name="all"><testcase name="x" time="0.5"/><testcase name="y"><error/></testcase></testsuites>`,
			want: []suite{{name: "all", cases: "all.x=passed all.y=errored", duration: 500 * time.Millisecond}},
		},
		{
			name: "a suite without a time attribute sums its cases",
			give: `<testsuite name="s"><testcase classname="c" name="a" time="0,25"/><testcase classname="c" name="b" time="1,000.5"/></testsuite>`,
			want: []suite{{name: "s", cases: "c.a=passed c.b=passed", duration: 1000750 * time.Millisecond}},
		},
		{
			name: "a failure after a skip decides, and the first of failure and error wins",
			give: `<testsuite name="s"><testcase classname="c" name="a"><skipped/><failure message="boom"/></testcase>` +
				`<testcase classname="c" name="b"><error message="e"/><failure message="f"/></testcase></testsuite>`,
			want: []suite{{name: "s", cases: "c.a=failed c.b=errored"}},
		},
		{
			name: "Surefire flaky and rerun records do not change the outcome",
			give: `<testsuite name="s"><testcase classname="c" name="flaky"><flakyFailure message="x"><stackTrace>at x</stackTrace></flakyFailure></testcase>` +
				`<testcase classname="c" name="broken"><failure message="y"/><rerunFailure message="y"/></testcase></testsuite>`,
			want: []suite{{name: "s", cases: "c.flaky=passed c.broken=failed"}},
		},
		{
			name: "declared counts are ignored and properties and output skipped",
			give: `<testsuite name="s" tests="999999999999" failures="7"><properties><property name="a" value="b"/></properties>` +
				`<testcase classname="c" name="a"><system-out>lots</system-out></testcase><system-err>x</system-err></testsuite>`,
			want: []suite{{name: "s", cases: "c.a=passed"}},
		},
		{
			name: "a byte order mark and a Latin-1 declaration are read",
			give: "\uFEFF<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><testsuite name=\"caf\xe9\"><testcase classname=\"c\" name=\"t\"/></testsuite>",
			want: []suite{{name: "café", cases: "c.t=passed"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseJUnit(strings.NewReader(tt.give))
			if err != nil {
				t.Fatalf("ParseJUnit: %v", err)
			}
			var gotSuites []suite
			for _, s := range got.Suites {
				var cases []string
				for _, c := range s.Cases {
					cases = append(cases, c.Key()+"="+string(c.Status))
				}
				gotSuites = append(gotSuites, suite{name: s.Name, cases: strings.Join(cases, " "), duration: s.Duration})
			}
			if len(gotSuites) != len(tt.want) {
				t.Fatalf("ParseJUnit suites = %+v, want %+v", gotSuites, tt.want)
			}
			for i := range tt.want {
				if gotSuites[i] != tt.want[i] {
					t.Errorf("suite %d = %+v, want %+v", i, gotSuites[i], tt.want[i])
				}
			}
		})
	}
}

func TestParseJUnitMessages(t *testing.T) {
	long := strings.Repeat("é", 3000) // two bytes a rune, so a byte cut could split one
	tests := []struct {
		name string
		give string
		want string
	}{
		{name: "message attribute", give: `<failure message=" expected 1 ">trace</failure>`, want: "expected 1"},
		{name: "text when the attribute is empty", give: `<failure message=""><![CDATA[  got 2  ]]></failure>`, want: "got 2"},
		{name: "skip reason", give: `<skipped message="not on CI"/>`, want: "not on CI"},
		{name: "long text is cut on a rune boundary", give: `<error>` + long + `</error>`, want: strings.Repeat("é", (maxMessage-3)/2) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseJUnit(strings.NewReader(`<testsuite><testcase name="t">` + tt.give + `</testcase></testsuite>`))
			if err != nil {
				t.Fatalf("ParseJUnit: %v", err)
			}
			if msg := got.Suites[0].Cases[0].Message; msg != tt.want {
				t.Errorf("Message = %q, want %q", msg, tt.want)
			}
		})
	}
}

func TestParseJUnitErrors(t *testing.T) {
	tests := []struct {
		name string
		give string
		want string
	}{
		{name: "empty", give: "", want: "junit: line 1: no root element"},
		{name: "only a declaration", give: `<?xml version="1.0"?>` + "\n", want: "junit: line 2: no root element"},
		{name: "truncated", give: "<testsuites>\n<testsuite name=\"a\">\n<testcase name=\"t\">", want: "junit: line 3: unexpected EOF"},
		{name: "not JUnit", give: "<coverage/>", want: "junit: line 1: root element <coverage>, want <testsuites> or <testsuite>"},
		{name: "mismatched tags", give: "<testsuite>\n<testcase>\n</testsuite>", want: "junit: line 3: element <testcase> closed by </testsuite>"},
		{name: "time is not a number", give: `<testsuite><testcase time="abc"/></testsuite>`, want: `junit: line 1: <testcase> time "abc": not a number of seconds`},
		{name: "negative time", give: `<testsuite time="-1"/>`, want: `junit: line 1: <testsuite> time "-1": outside 0..1e+09 seconds`},
		{name: "infinite time", give: `<testsuite time="1e999"/>`, want: `junit: line 1: <testsuite> time "1e999": not a number of seconds`},
		{name: "second root", give: "<testsuite/>\n<testsuite/>", want: "junit: line 2: second root element <testsuite>"},
		{name: "unknown entity", give: `<testsuite name="&bogus;"/>`, want: "junit: line 1: invalid character entity &bogus;"},
		{name: "unsupported encoding", give: `<?xml version="1.0" encoding="EBCDIC"?><testsuite/>`, want: `junit: line 1: xml: opening charset "EBCDIC": unsupported encoding "EBCDIC"`},
		{name: "not XML", give: "PASS\nok  \texample.com/x\t0.01s\n", want: "junit: line 3: no root element"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseJUnit(strings.NewReader(tt.give))
			if err == nil || err.Error() != tt.want {
				t.Errorf("ParseJUnit(%q) error = %v, want %q", tt.give, err, tt.want)
			}
			var pe *ParseError
			if err != nil && !errors.As(err, &pe) {
				t.Errorf("ParseJUnit error %T is not a *ParseError", err)
			}
		})
	}
}

func TestParseSeconds(t *testing.T) {
	tests := []struct {
		give    string
		want    time.Duration
		wantErr bool
	}{
		{give: "0.014", want: 14 * time.Millisecond},
		{give: " 2 ", want: 2 * time.Second},
		{give: "0,014", want: 14 * time.Millisecond},
		{give: "1,234.5", want: 1234500 * time.Millisecond},
		{give: "1,234,567", want: 1234567 * time.Second},
		{give: "1e-3", want: time.Millisecond},
		{give: "0.29", want: 290 * time.Millisecond},
		{give: "abc", wantErr: true},
		{give: "NaN", wantErr: true},
		{give: "Inf", wantErr: true},
		{give: "-0.5", wantErr: true},
		{give: "1e10", wantErr: true},
		{give: "1.2.3", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseSeconds(tt.give)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseSeconds(%q) = %v, %v; want %v, error %v", tt.give, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestCaseKey(t *testing.T) {
	tests := []struct {
		name string
		give Case
		want string
	}{
		{name: "class and name", give: Case{Class: "pkg.Class", Name: "test", Suite: "s"}, want: "pkg.Class.test"},
		{name: "suite when no class", give: Case{Name: "adds cents", Suite: "money.test.js"}, want: "money.test.js.adds cents"},
		{name: "bare name", give: Case{Name: "t"}, want: "t"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.give.Key(); got != tt.want {
				t.Errorf("Key(%+v) = %q, want %q", tt.give, got, tt.want)
			}
		})
	}
}

func TestMerge(t *testing.T) {
	a := parseJUnitFile(t, "junit-pytest.xml")
	b := parseJUnitFile(t, "junit-surefire-failing.xml")
	merged := Merge(a, b)
	total, failed, errored, skipped := merged.Counts()
	if total != 12 || failed != 3 || errored != 1 || skipped != 3 {
		t.Errorf("Merge(pytest, surefire).Counts() = %d %d %d %d, want 12 3 1 3", total, failed, errored, skipped)
	}
	if got, want := merged.Duration(), 48*time.Millisecond; got != want {
		t.Errorf("Merge(pytest, surefire).Duration() = %v, want %v", got, want)
	}
	if merged.Suites[0].Name != "pytest" || merged.Suites[1].Name != "org.apache.maven.surefire.test.FailingTest" {
		t.Errorf("Merge suites = %q, %q; want argument order", merged.Suites[0].Name, merged.Suites[1].Name)
	}
	merged.Suites[0].Cases[0].Status = Failed
	if a.Suites[0].Cases[0].Status != Passed {
		t.Error("changing Merge's result changed its input")
	}
	if got := Merge(); len(got.Suites) != 0 {
		t.Errorf("Merge() has %d suites, want 0", len(got.Suites))
	}
}

func TestTestsDurationSaturates(t *testing.T) {
	half := time.Duration(math.MaxInt64/2 + 1)
	tests := Tests{Suites: []Suite{{Duration: half}, {Duration: half}}}
	if got := tests.Duration(); got != math.MaxInt64 {
		t.Errorf("Duration() = %d, want %d", got, int64(math.MaxInt64))
	}
}
