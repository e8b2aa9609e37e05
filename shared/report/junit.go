package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ParseJUnit reads one JUnit XML report as Maven Surefire, pytest --junitxml,
// go-junit-report, jest-junit and similar tools write it: a <testsuites> root or
// a bare <testsuite>, suites possibly nested (they are flattened, in document
// order), and <testcase> elements whose <failure>, <error> or <skipped> child
// gives the outcome.
//
// Counts come from the elements, never from the tests/failures attributes a
// tool declares. Surefire's <flakyFailure>, <flakyError>, <rerunFailure> and
// <rerunError> do not change a case's outcome: a flaky test that passed on a
// rerun is passed, one that kept failing also carries a <failure>. Properties,
// system-out and system-err are skipped.
func ParseJUnit(r io.Reader) (Tests, error) {
	p := &junitParser{x: newXMLStream("junit", r)}
	root, err := p.x.root()
	if err != nil {
		return Tests{}, err
	}
	switch root.Name.Local {
	case "testsuites":
		err = p.suites(root)
	case "testsuite":
		err = p.suite(root)
	default:
		err = p.x.errorf("root element <%s>, want <testsuites> or <testsuite>", root.Name.Local)
	}
	if err == nil {
		err = p.x.finish()
	}
	if err != nil {
		return Tests{}, err
	}
	return p.tests, nil
}

type junitParser struct {
	x     *xmlStream
	tests Tests
	cases int
}

// suites reads a <testsuites> element. Test cases placed directly under it,
// outside any suite, are gathered into one suite named after it.
func (p *junitParser) suites(start xml.StartElement) error {
	loose := -1 // index of the suite holding loose cases
	for {
		tok, err := p.x.next()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			if loose >= 0 {
				p.tests.Suites[loose].Duration = sumCases(p.tests.Suites[loose].Cases)
			}
			return nil
		case xml.StartElement:
			switch t.Name.Local {
			case "testsuite":
				err = p.suite(t)
			case "testcase":
				if loose < 0 {
					name, _ := attr(start, "name")
					if loose, err = p.addSuite(name); err != nil {
						return err
					}
				}
				err = p.testcase(t, loose)
			case "testsuites":
				err = p.suites(t)
			default:
				err = p.x.skip()
			}
			if err != nil {
				return err
			}
		}
	}
}

func (p *junitParser) addSuite(name string) (int, error) {
	if len(p.tests.Suites) >= maxSuites {
		return 0, p.x.errorf("more than %d test suites", maxSuites)
	}
	p.tests.Suites = append(p.tests.Suites, Suite{Name: name})
	return len(p.tests.Suites) - 1, nil
}

// suite reads one <testsuite>, appending it and then any suites nested in it.
func (p *junitParser) suite(start xml.StartElement) error {
	name, _ := attr(start, "name")
	idx, err := p.addSuite(strings.TrimSpace(name))
	if err != nil {
		return err
	}
	duration, hasTime, err := p.seconds(start)
	if err != nil {
		return err
	}
	nested := false
	for {
		tok, err := p.x.next()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			s := &p.tests.Suites[idx]
			s.Duration = duration
			if nested || !hasTime {
				// A parent's time covers its nested suites, which are
				// suites of their own here: count only its own cases.
				s.Duration = sumCases(s.Cases)
			}
			return nil
		case xml.StartElement:
			switch t.Name.Local {
			case "testcase":
				err = p.testcase(t, idx)
			case "testsuite":
				nested = true
				err = p.suite(t)
			default:
				err = p.x.skip()
			}
			if err != nil {
				return err
			}
		}
	}
}

// testcase reads one <testcase> into suite idx.
func (p *junitParser) testcase(start xml.StartElement, idx int) error {
	p.cases++
	if p.cases > maxCases {
		return p.x.errorf("more than %d test cases", maxCases)
	}
	c := Case{Status: Passed, Suite: p.tests.Suites[idx].Name}
	class, _ := attr(start, "classname")
	name, _ := attr(start, "name")
	c.Class, c.Name = strings.TrimSpace(class), strings.TrimSpace(name)
	var err error
	if c.Duration, _, err = p.seconds(start); err != nil {
		return err
	}
	for {
		tok, err := p.x.next()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			p.tests.Suites[idx].Cases = append(p.tests.Suites[idx].Cases, c)
			return nil
		case xml.StartElement:
			status, ok := outcomes[t.Name.Local]
			if !ok {
				if err := p.x.skip(); err != nil {
					return err
				}
				continue
			}
			msg, _ := attr(t, "message")
			text, err := p.x.text()
			if err != nil {
				return err
			}
			// The first failure or error decides; either overrides a skip.
			if c.Status == Passed || (c.Status == Skipped && status != Skipped) {
				c.Status = status
				if strings.TrimSpace(msg) == "" {
					msg = text
				}
				c.Message = shorten(msg)
			}
		}
	}
}

// outcomes maps a test case's child elements to the status they mean.
var outcomes = map[string]Status{
	"failure": Failed,
	"error":   Errored,
	"skipped": Skipped,
}

// seconds reads an element's time attribute.
func (p *junitParser) seconds(se xml.StartElement) (time.Duration, bool, error) {
	v, ok := attr(se, "time")
	if !ok || strings.TrimSpace(v) == "" {
		return 0, false, nil
	}
	d, err := parseSeconds(v)
	if err != nil {
		return 0, false, p.x.errorf("<%s> time %q: %v", se.Name.Local, v, err)
	}
	return d, true, nil
}

// maxSeconds bounds a single time attribute (about 31 years), far below
// where time.Duration overflows.
const maxSeconds = 1e9

// parseSeconds reads a JUnit time attribute: seconds with a decimal point
// ("0.014"), a decimal comma as some locales write it ("0,014"), or thousands
// separators ("1,234.567", "1,234,567"). A lone comma is read as a decimal
// comma.
func parseSeconds(v string) (time.Duration, error) {
	s := strings.TrimSpace(v)
	if strings.Contains(s, ",") {
		if strings.Contains(s, ".") {
			s = strings.ReplaceAll(s, ",", "")
		} else if strings.Count(s, ",") == 1 {
			s = strings.Replace(s, ",", ".", 1)
		} else {
			s = strings.ReplaceAll(s, ",", "")
		}
	}
	if s == "" || strings.TrimLeft(s, "0123456789.eE+-") != "" {
		return 0, fmt.Errorf("not a number of seconds")
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) {
		return 0, fmt.Errorf("not a number of seconds")
	}
	if f < 0 || f > maxSeconds {
		return 0, fmt.Errorf("outside 0..%g seconds", float64(maxSeconds))
	}
	return time.Duration(math.Round(f * float64(time.Second))), nil
}

// sumCases adds up case durations.
func sumCases(cases []Case) time.Duration {
	var d time.Duration
	for _, c := range cases {
		d = addDuration(d, c.Duration)
	}
	return d
}

// addDuration adds without overflowing: the sum saturates at the largest
// duration.
func addDuration(a, b time.Duration) time.Duration {
	if b > 0 && a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// Counts returns how many test cases there are and how many of them failed,
// errored and were skipped; the rest passed.
func (t Tests) Counts() (total, failed, errored, skipped int) {
	for _, s := range t.Suites {
		for _, c := range s.Cases {
			total++
			switch c.Status {
			case Failed:
				failed++
			case Errored:
				errored++
			case Skipped:
				skipped++
			}
		}
	}
	return total, failed, errored, skipped
}

// Duration is the sum of the suites' durations.
func (t Tests) Duration() time.Duration {
	var d time.Duration
	for _, s := range t.Suites {
		d = addDuration(d, s.Duration)
	}
	return d
}

// Key identifies a test across runs, so timings and outcomes can be compared
// build to build: "class.name", or "suite.name" when the tool wrote no class
// name, or the bare name when there is neither.
func (c Case) Key() string {
	switch {
	case c.Class != "":
		return c.Class + "." + c.Name
	case c.Suite != "":
		return c.Suite + "." + c.Name
	default:
		return c.Name
	}
}

// Merge combines reports (several files of one build, for example) into one,
// keeping every suite in argument order. It copies, so changing the result does
// not change the inputs.
func Merge(ts ...Tests) Tests {
	n := 0
	for _, t := range ts {
		n += len(t.Suites)
	}
	merged := Tests{Suites: make([]Suite, 0, n)}
	for _, t := range ts {
		for _, s := range t.Suites {
			s.Cases = slices.Clone(s.Cases)
			merged.Suites = append(merged.Suites, s)
		}
	}
	return merged
}
