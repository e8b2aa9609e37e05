package report

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"
)

// addSeeds adds every testdata file matching the patterns to the corpus.
func addSeeds(f *testing.F, patterns ...string) {
	f.Helper()
	n := 0
	for _, pattern := range patterns {
		files, err := filepath.Glob(filepath.Join("testdata", pattern))
		if err != nil {
			f.Fatal(err)
		}
		for _, name := range files {
			data, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
			n++
		}
	}
	if n == 0 {
		f.Fatalf("no seed files match %q", patterns)
	}
}

func FuzzParseJUnit(f *testing.F) {
	addSeeds(f, "junit-*.xml")
	f.Fuzz(func(t *testing.T, data []byte) {
		tests, err := ParseJUnit(bytes.NewReader(data))
		if err != nil {
			return
		}
		total, failed, errored, skipped := tests.Counts()
		if failed < 0 || errored < 0 || skipped < 0 || failed+errored+skipped > total {
			t.Fatalf("Counts() = %d, %d, %d, %d: outcomes exceed the total", total, failed, errored, skipped)
		}
		if total > maxCases || len(tests.Suites) > maxSuites {
			t.Fatalf("%d cases in %d suites, beyond the limits", total, len(tests.Suites))
		}
		if tests.Duration() < 0 {
			t.Fatalf("Duration() = %v", tests.Duration())
		}
		for _, s := range tests.Suites {
			for _, c := range s.Cases {
				if c.Duration < 0 || len(c.Message) > maxMessage || !utf8.ValidString(c.Message) {
					t.Fatalf("case %+v: bad duration or message", c)
				}
			}
		}
	})
}

func FuzzParseSARIF(f *testing.F) {
	addSeeds(f, "*.sarif")
	f.Fuzz(func(t *testing.T, data []byte) {
		runs, err := ParseSARIF(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, r := range runs {
			for _, x := range r.Results {
				if !levels[x.Level] {
					t.Fatalf("finding %+v: level %q", x, x.Level)
				}
				if x.Score < 0 || x.Score > 10 {
					t.Fatalf("finding %+v: score outside 0..10", x)
				}
				if x.Score > 0 && x.Severity != SeverityForScore(x.Score) {
					t.Fatalf("finding %+v: severity does not match score", x)
				}
				if len(x.Message) > maxMessage {
					t.Fatalf("finding %+v: message longer than %d", x, maxMessage)
				}
			}
		}
	})
}

func FuzzParseCoverage(f *testing.F) {
	addSeeds(f, "cobertura-*.xml", "gocover-*.out")
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCoverage(bytes.NewReader(data))
		if err != nil {
			return
		}
		if c.Covered < 0 || c.Covered > c.Total {
			t.Fatalf("ParseCoverage = %+v: covered outside 0..total", c)
		}
		if p := c.Percent(); p < 0 || p > 100 {
			t.Fatalf("%+v.Percent() = %v", c, p)
		}
		if c.Format != "cobertura" && c.Format != "gocover" {
			t.Fatalf("ParseCoverage format %q", c.Format)
		}
	})
}
