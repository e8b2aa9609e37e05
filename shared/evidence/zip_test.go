package evidence

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/report"
)

const junitUnit = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="checkout/cart" tests="2" failures="1" errors="0" skipped="0" time="0.500">
    <testcase classname="checkout/cart" name="TestAdd" time="0.200"></testcase>
    <testcase classname="checkout/cart" name="TestRemove" time="0.300">
      <failure message="want 1 item, got 2" type="">cart_test.go:42: want 1 item, got 2</failure>
    </testcase>
  </testsuite>
</testsuites>
`

const junitIntegration = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="checkout/payment" tests="1" failures="0" errors="0" skipped="0" time="1.250">
    <testcase classname="checkout/payment" name="TestCharge" time="1.250"></testcase>
  </testsuite>
</testsuites>
`

const sarifLint = `{
  "version": "2.1.0",
  "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
  "runs": [{
    "tool": {"driver": {"name": "golangci-lint"}},
    "results": [{
      "ruleId": "errcheck",
      "level": "error",
      "message": {"text": "Error return value of rows.Close is not checked"},
      "locations": [{"physicalLocation": {"artifactLocation": {"uri": "cart/store.go"}, "region": {"startLine": 31}}}]
    }]
  }]
}
`

const sarifGosec = `{
  "version": "2.1.0",
  "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
  "runs": [{
    "tool": {"driver": {"name": "gosec", "rules": [{"id": "G101", "properties": {"security-severity": "7.5"}}]}},
    "results": [{
      "ruleId": "G101",
      "level": "warning",
      "message": {"text": "Potential hardcoded credentials"},
      "locations": [{"physicalLocation": {"artifactLocation": {"uri": "payment/keys.go"}, "region": {"startLine": 7}}}]
    }]
  }]
}
`

const goCover = `mode: set
github.com/highwayhq/checkout/cart/cart.go:10.30,12.2 2 1
github.com/highwayhq/checkout/cart/cart.go:14.33,16.2 2 0
github.com/highwayhq/checkout/cart/cart.go:18.33,19.2 1 1
`

const cobertura = `<?xml version="1.0" ?>
<coverage line-rate="0.75" branch-rate="0" lines-covered="3" lines-valid="4" branches-covered="0" branches-valid="0" complexity="0" version="1.9" timestamp="1763372840">
  <sources><source>/codebuild/output/src/payment</source></sources>
  <packages>
    <package name="payment" line-rate="0.75" branch-rate="0" complexity="0">
      <classes>
        <class name="charge.go" filename="payment/charge.go" line-rate="0.75" branch-rate="0" complexity="0">
          <methods></methods>
          <lines>
            <line number="5" hits="1"></line>
            <line number="6" hits="1"></line>
            <line number="7" hits="0"></line>
            <line number="9" hits="2"></line>
          </lines>
        </class>
      </classes>
    </package>
  </packages>
</coverage>
`

// zipFile is one entry of a test artifact; a name ending in / is a directory.
type zipFile struct {
	name string
	body string
}

// zipOf builds an artifact zip in memory.
func zipOf(t *testing.T, files ...zipFile) *bytes.Reader {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		w, err := zw.Create(f.name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, f.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(buf.Bytes())
}

// rawZip builds a zip with one stored entry whose header declares whatever
// sizes the test wants, whatever the data is.
func rawZip(t *testing.T, name string, declared uint64, data []byte) *bytes.Reader {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateRaw(&zip.FileHeader{
		Name:               name,
		Method:             zip.Store,
		CompressedSize64:   uint64(len(data)),
		UncompressedSize64: declared,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(buf.Bytes())
}

func mustParse[T any](t *testing.T, parse func(io.Reader) (T, error), body string) T {
	t.Helper()
	v, err := parse(strings.NewReader(body))
	if err != nil {
		t.Fatalf("the report parser refuses a test fixture: %v", err)
	}
	return v
}

func TestFromZipMergesNestedReports(t *testing.T) {
	r := zipOf(t,
		zipFile{"reports/", ""},
		zipFile{"reports/unit/", ""},
		zipFile{"./reports/unit/junit.xml", junitUnit},
		zipFile{"reports/integration/junit.xml", junitIntegration},
		zipFile{"reports/integration/junit.txt", "not a report"},
		zipFile{"lint/golangci.sarif", sarifLint},
		zipFile{"/lint/gosec.sarif", sarifGosec},
		zipFile{"cover/cart.out", goCover},
		zipFile{"cover/payment.xml", cobertura},
		zipFile{"bin/checkout", "\x7fELF"},
	)
	globs := policy.Reports{
		JUnit:    []string{"reports/*/junit.xml"},
		SARIF:    []string{"./lint/*.sarif"},
		Coverage: []string{"cover/*.out", "cover/*.xml"},
	}

	tests, sarif, cov := FromZip(r, r.Size(), globs, LimitsFor(DefaultMemoryMB))

	// Files are read in name order: integration before unit, golangci before gosec.
	wantTests := report.Merge(mustParse(t, report.ParseJUnit, junitIntegration), mustParse(t, report.ParseJUnit, junitUnit))
	if len(wantTests.Suites) != 2 {
		t.Fatalf("fixtures parse to %d suites, want 2", len(wantTests.Suites))
	}
	if tests.Err != nil || !tests.Found {
		t.Fatalf("tests = Found %v, Err %v; want found, no error", tests.Found, tests.Err)
	}
	if !reflect.DeepEqual(tests.Value, wantTests) {
		t.Errorf("tests.Value = %+v, want %+v", tests.Value, wantTests)
	}
	if want := "reports/integration/junit.xml, reports/unit/junit.xml"; tests.From != want {
		t.Errorf("tests.From = %q, want %q", tests.From, want)
	}

	wantRuns := append(mustParse(t, report.ParseSARIF, sarifLint), mustParse(t, report.ParseSARIF, sarifGosec)...)
	if sarif.Err != nil || !sarif.Found {
		t.Fatalf("sarif = Found %v, Err %v; want found, no error", sarif.Found, sarif.Err)
	}
	if len(sarif.Value) != 2 || !reflect.DeepEqual(sarif.Value, wantRuns) {
		t.Errorf("sarif.Value = %+v, want %+v", sarif.Value, wantRuns)
	}
	if want := "lint/golangci.sarif, lint/gosec.sarif"; sarif.From != want {
		t.Errorf("sarif.From = %q, want %q", sarif.From, want)
	}

	goCov, xmlCov := mustParse(t, report.ParseCoverage, goCover), mustParse(t, report.ParseCoverage, cobertura)
	wantCov := report.Coverage{
		Format:  goCov.Format + "+" + xmlCov.Format,
		Covered: goCov.Covered + xmlCov.Covered,
		Total:   goCov.Total + xmlCov.Total,
	}
	if cov.Err != nil || !cov.Found {
		t.Fatalf("cov = Found %v, Err %v; want found, no error", cov.Found, cov.Err)
	}
	if cov.Value != wantCov || wantCov.Total == 0 {
		t.Errorf("cov.Value = %+v, want %+v", cov.Value, wantCov)
	}
}

func TestFromZipMissingAndUnreadable(t *testing.T) {
	tests := []struct {
		name  string
		files []zipFile
		globs policy.Reports
		// want per kind: "" not found, "ok" found, else a substring of Err.
		wantTests, wantSARIF, wantCov string
	}{
		{
			name:  "no globs",
			files: []zipFile{{"reports/junit.xml", junitUnit}},
		},
		{
			name:      "nothing matches",
			files:     []zipFile{{"reports/unit/junit.xml", junitUnit}},
			globs:     policy.Reports{JUnit: []string{"reports/junit.xml"}, SARIF: []string{"*.sarif"}},
			wantTests: "", wantSARIF: "",
		},
		{
			name:      "a glob matching only a directory",
			files:     []zipFile{{"reports/junit.xml/", ""}},
			globs:     policy.Reports{JUnit: []string{"reports/junit.xml"}},
			wantTests: "",
		},
		{
			name: "one unreadable file names itself, the others still read",
			files: []zipFile{
				{"reports/a/junit.xml", junitUnit},
				{"reports/b/junit.xml", "<testsuites><testsuite name=\"cut"},
				{"lint.sarif", sarifLint},
			},
			globs:     policy.Reports{JUnit: []string{"reports/*/junit.xml"}, SARIF: []string{"lint.sarif"}},
			wantTests: "reports/b/junit.xml: ", wantSARIF: "ok",
		},
		{
			name:    "a bad glob",
			files:   []zipFile{{"cover.out", goCover}},
			globs:   policy.Reports{Coverage: []string{"cover[.out"}},
			wantCov: "report glob",
		},
		{
			name:      "backslashes in entry names",
			files:     []zipFile{{`reports\unit\junit.xml`, junitUnit}},
			globs:     policy.Reports{JUnit: []string{"reports/unit/junit.xml"}},
			wantTests: "ok",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := zipOf(t, tt.files...)
			tests, sarif, cov := FromZip(r, r.Size(), tt.globs, LimitsFor(DefaultMemoryMB))
			checkInput(t, "tests", tests.Found, tests.Err, tt.wantTests)
			checkInput(t, "sarif", sarif.Found, sarif.Err, tt.wantSARIF)
			checkInput(t, "coverage", cov.Found, cov.Err, tt.wantCov)
		})
	}
}

// checkInput asserts an input is missing (want ""), read (want "ok") or
// unreadable with an error containing want.
func checkInput(t *testing.T, kind string, found bool, err error, want string) {
	t.Helper()
	switch want {
	case "":
		if found || err != nil {
			t.Errorf("%s = Found %v, Err %v; want not found", kind, found, err)
		}
	case "ok":
		if !found || err != nil {
			t.Errorf("%s = Found %v, Err %v; want found and read", kind, found, err)
		}
	default:
		if !found || err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s = Found %v, Err %v; want found, with an error containing %q", kind, found, err, want)
		}
	}
}

func TestFromZipRefusesHostileArchives(t *testing.T) {
	var zeros bytes.Buffer
	zeros.Grow(10 << 20)
	zeros.Write(make([]byte, 10<<20))
	bomb := zipOf(t, zipFile{"reports/junit.xml", zeros.String()})

	many := make([]zipFile, MaxReportFiles+1)
	for i := range many {
		many[i] = zipFile{fmt.Sprintf("reports/%04d.xml", i), junitUnit}
	}

	tests := []struct {
		name string
		give *bytes.Reader
		want string
	}{
		{"zip bomb", bomb, "zip bomb"},
		{"declared larger than a report may be", rawZip(t, "reports/junit.xml", report.MaxBytes+1, []byte("<testsuites/>")), "a report may have"},
		{"more data than declared", rawZip(t, "reports/junit.xml", 10, []byte(junitUnit)), "reports/junit.xml: "},
		{"too many matching files", zipOf(t, many...), fmt.Sprintf("more than the %d allowed", MaxReportFiles)},
		{"not a zip", bytes.NewReader([]byte(junitUnit)), "read artifact zip"},
	}
	globs := policy.Reports{JUnit: []string{"reports/*.xml"}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tests, sarif, _ := FromZip(tt.give, tt.give.Size(), globs, LimitsFor(DefaultMemoryMB))
			checkInput(t, "tests", tests.Found, tests.Err, tt.want)
			checkInput(t, "sarif", sarif.Found, sarif.Err, "")
		})
	}
}

func TestBudgetReader(t *testing.T) {
	tests := []struct {
		name      string
		give      string
		limit     int64
		wantErr   bool
		wantSpent int64
	}{
		{"under the limit", "0123456789", 11, false, 10},
		{"exactly the limit", "0123456789", 10, false, 10},
		{"one byte over", "0123456789", 9, true, 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			budget := int64(100)
			br := &budgetReader{r: strings.NewReader(tt.give), left: tt.limit, spent: &budget, over: io.ErrShortBuffer}
			got, err := io.ReadAll(br)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ReadAll(%q, limit %d) error = %v, want error %v", tt.give, tt.limit, err, tt.wantErr)
			}
			if !tt.wantErr && string(got) != tt.give {
				t.Errorf("ReadAll(%q, limit %d) = %q", tt.give, tt.limit, got)
			}
			if spent := 100 - budget; spent != tt.wantSpent {
				t.Errorf("budget spent = %d, want %d", spent, tt.wantSpent)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		give, want string
	}{
		{"reports/junit.xml", "reports/junit.xml"},
		{"./reports/junit.xml", "reports/junit.xml"},
		{"/reports/junit.xml", "reports/junit.xml"},
		{"././/reports/junit.xml", "reports/junit.xml"},
		{`reports\junit.xml`, "reports/junit.xml"},
	}
	for _, tt := range tests {
		if got := normalize(tt.give); got != tt.want {
			t.Errorf("normalize(%q) = %q, want %q", tt.give, got, tt.want)
		}
	}
}

// tinyEntries builds a zip of n one-byte files, as a hostile artifact holds
// a million of them.
func tinyEntries(t *testing.T, n int) *bytes.Reader {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := range n {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("f%06d", i), Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte{'x'}); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(buf.Bytes())
}

// limits are the limits of a function with so little memory that small
// artifacts reach them: entries and directory bytes as given, reports as
// LimitsFor(256).
func limits(entries int, directory int64) Limits {
	l := LimitsFor(DefaultMemoryMB)
	l.MemoryMB, l.Entries, l.DirectoryBytes = 1, entries, directory
	return l
}

func TestFromZipWithinLimits(t *testing.T) {
	report := zipFile{"reports/junit.xml", junitUnit}
	withReport := func(n int) *bytes.Reader {
		files := []zipFile{report}
		for i := range n {
			files = append(files, zipFile{fmt.Sprintf("node_modules/m%05d/index.js", i), "x"})
		}
		return zipOf(t, files...)
	}
	reports := LimitsFor(DefaultMemoryMB)
	reports.ReportBytes = int64(len(junitUnit)) - 1

	tests := []struct {
		name   string
		give   *bytes.Reader
		limits Limits
		want   string // "ok" when the report is read
	}{
		{"entries at the cap", withReport(99), limits(100, 1<<20), "ok"},
		{"one entry over the cap", withReport(100), limits(100, 1<<20), "holds 101 entries, more than the 100 Highway reads at 1 MB of function memory"},
		{"many tiny entries, directory over its budget", tinyEntries(t, 5000), limits(1_000_000, 4096), "zip directory is larger than the 4096 bytes Highway reads"},
		{"reports over their budget", withReport(0), reports, fmt.Sprintf("more than the %[1]d left of the %[1]d bytes of reports Highway reads at 256 MB of function memory", len(junitUnit)-1)},
	}
	globs := policy.Reports{JUnit: []string{"reports/*.xml"}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tests, _, _ := FromZip(tt.give, tt.give.Size(), globs, tt.limits)
			checkInput(t, "tests", tests.Found, tests.Err, tt.want)
		})
	}
}

func TestLimitsForMemory(t *testing.T) {
	tests := []struct {
		give    string
		want    Limits
		wantErr bool
	}{
		{"", Limits{MemoryMB: 256, ArchiveBytes: 256 << 20, DirectoryBytes: 65536 * 128, Entries: 65536, ReportBytes: 16 << 20}, false},
		{"256", Limits{MemoryMB: 256, ArchiveBytes: 256 << 20, DirectoryBytes: 65536 * 128, Entries: 65536, ReportBytes: 16 << 20}, false},
		{"1024", Limits{MemoryMB: 1024, ArchiveBytes: 256 << 20, DirectoryBytes: 262144 * 128, Entries: 262144, ReportBytes: 64 << 20}, false},
		{"0", Limits{}, true},
		{"lots", Limits{}, true},
	}
	for _, tt := range tests {
		got, err := LimitsForMemory(tt.give)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("LimitsForMemory(%q) = %+v, %v; want %+v, error %v", tt.give, got, err, tt.want, tt.wantErr)
		}
	}
}
