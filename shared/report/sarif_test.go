package report

import (
	"errors"
	"maps"
	"os"
	"strings"
	"testing"
)

// TestParseSARIFRealLogs checks logs written by the tools themselves
// (testdata/README.md says where each comes from) against counts taken by hand
// from the files.
func TestParseSARIFRealLogs(t *testing.T) {
	tests := []struct {
		name           string
		give           string
		wantTool       string
		wantBySeverity map[Severity]int
		wantByLevel    map[string]int
		// one finding to look at closely
		want Finding
	}{
		{
			// Nine results, one suppressed by #nosec (kind inSource, no
			// status). gosec gives no score; severity is a rule tag.
			name:           "gosec",
			give:           "sarif-gosec.sarif",
			wantTool:       "gosec",
			wantBySeverity: map[Severity]int{High: 2, Medium: 5, Low: 1},
			wantByLevel:    map[string]int{"error": 7, "warning": 1},
			want: Finding{RuleID: "G101", Level: "error", Severity: High,
				Message: "Potential hardcoded credentials", Location: "main.go:14"},
		},
		{
			name:           "Trivy, security-severity as a string on rules",
			give:           "sarif-trivy.sarif",
			wantTool:       "Trivy",
			wantBySeverity: map[Severity]int{Critical: 3, High: 1, Medium: 3},
			wantByLevel:    map[string]int{"error": 4, "warning": 3},
			want: Finding{RuleID: "CVE-2024-35195", Level: "warning", Score: 5.6, Severity: Medium,
				Message:  "Package: requests\nInstalled Version: 2.19.0\nVulnerability CVE-2024-35195\nSeverity: MEDIUM\nFixed Version: 2.32.0\nLink: [CVE-2024-35195](https://avd.aquasec.com/nvd/cve-2024-35195)",
				Location: "vulnerable-app/requirements.txt:2"},
		},
		{
			// Results come before the tool; one of two is suppressed by
			// nosemgrep; the level comes from the rule's default.
			name:           "Semgrep",
			give:           "sarif-semgrep-nosemgrep.sarif",
			wantTool:       "Semgrep OSS",
			wantBySeverity: map[Severity]int{NoSeverity: 1},
			wantByLevel:    map[string]int{"error": 1},
			want: Finding{RuleID: "rules.regex.detected-aws-account-id", Level: "error",
				Message: "AWS Account ID detected", Location: "targets/basic/regex-nosemgrep.txt:3"},
		},
		{
			// Results carry no level and point at rules 23 and 24 of 31.
			name:           "CodeQL",
			give:           "sarif-codeql.sarif",
			wantTool:       "CodeQL",
			wantBySeverity: map[Severity]int{Critical: 1, High: 1},
			wantByLevel:    map[string]int{"error": 2},
			want: Finding{RuleID: "go/command-injection", Level: "error", Score: 9.8, Severity: Critical,
				Message: "This command depends on a [user-provided value](1).", Location: "main.go:273"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := os.Open("testdata/" + tt.give)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			runs, err := ParseSARIF(f)
			if err != nil {
				t.Fatalf("ParseSARIF(%s): %v", tt.give, err)
			}
			if len(runs) != 1 || runs[0].Tool != tt.wantTool {
				t.Fatalf("ParseSARIF(%s) = %d runs, first by %q; want 1 by %q", tt.give, len(runs), runTool(runs), tt.wantTool)
			}
			bySeverity, byLevel := map[Severity]int{}, map[string]int{}
			found := false
			for _, r := range runs[0].Results {
				bySeverity[r.Severity]++
				byLevel[r.Level]++
				found = found || r == tt.want
			}
			if !maps.Equal(bySeverity, tt.wantBySeverity) {
				t.Errorf("findings by severity = %v, want %v", bySeverity, tt.wantBySeverity)
			}
			if !maps.Equal(byLevel, tt.wantByLevel) {
				t.Errorf("findings by level = %v, want %v", byLevel, tt.wantByLevel)
			}
			if !found {
				t.Errorf("no finding %+v among %+v", tt.want, runs[0].Results)
			}
		})
	}
}

func runTool(runs []Run) string {
	if len(runs) == 0 {
		return ""
	}
	return runs[0].Tool
}

// sarifLog wraps one run's tool and results members in a SARIF log.
func sarifLog(tool, results string) string {
	return `{"version":"2.1.0","runs":[{"tool":` + tool + `,"results":[` + results + `]}]}`
}

func TestParseSARIFResolution(t *testing.T) {
	const tool = `{"driver":{"name":"scanner","rules":[
		{"id":"R0","defaultConfiguration":{"level":"note"},"properties":{"security-severity":"4.0"}},
		{"id":"R1","properties":{"security-severity":9.1,"tags":["LOW"]},
		 "messageStrings":{"default":{"text":"{0} flows to {1} ({2})"}}},
		{"id":"R2","properties":{"tags":["security","MEDIUM"]}}]},
		"extensions":[{"name":"pack","rules":[{"id":"X0","defaultConfiguration":{"level":"error"},"properties":{"security-severity":"7.5"}}]}]}`
	tests := []struct {
		name   string
		give   string
		want   Finding
		wantOK bool // false when the result is left out
	}{
		{
			name:   "rule by ruleIndex: its default level and score",
			give:   `{"ruleId":"R0","ruleIndex":0,"message":{"text":"m"}}`,
			want:   Finding{RuleID: "R0", Level: "note", Score: 4, Severity: Medium, Message: "m"},
			wantOK: true,
		},
		{
			name:   "rule by id when ruleIndex points at another rule",
			give:   `{"ruleId":"R1","ruleIndex":0}`,
			want:   Finding{RuleID: "R1", Level: "warning", Score: 9.1, Severity: Critical},
			wantOK: true,
		},
		{
			name:   "rule in an extension by rule.toolComponent.index",
			give:   `{"rule":{"id":"X0","index":0,"toolComponent":{"index":0}}}`,
			want:   Finding{RuleID: "X0", Level: "error", Score: 7.5, Severity: High},
			wantOK: true,
		},
		{
			name:   "rule id taken from the rule an index names",
			give:   `{"ruleIndex":2}`,
			want:   Finding{RuleID: "R2", Level: "warning", Severity: Medium},
			wantOK: true,
		},
		{
			name:   "result score beats the rule's, a score beats a tag",
			give:   `{"ruleId":"R1","properties":{"security-severity":"2.5"},"level":"error"}`,
			want:   Finding{RuleID: "R1", Level: "error", Score: 2.5, Severity: Low},
			wantOK: true,
		},
		{
			name:   "message id resolved against messageStrings with arguments",
			give:   `{"ruleId":"R1","message":{"id":"default","arguments":["input","query"]}}`,
			want:   Finding{RuleID: "R1", Level: "warning", Score: 9.1, Severity: Critical, Message: "input flows to query ({2})"},
			wantOK: true,
		},
		{
			name:   "unknown rule: spec default level, no severity",
			give:   `{"ruleId":"nope","ruleIndex":99}`,
			want:   Finding{RuleID: "nope", Level: "warning"},
			wantOK: true,
		},
		{
			name:   "kind other than fail defaults the level to none",
			give:   `{"ruleId":"R0","kind":"pass"}`,
			want:   Finding{RuleID: "R0", Level: "none", Score: 4, Severity: Medium},
			wantOK: true,
		},
		{
			name:   "location is uri:startLine, further locations ignored",
			give:   `{"ruleId":"R2","locations":[{"physicalLocation":{"artifactLocation":{"uri":"a/b.go"},"region":{"startLine":7}}},{"physicalLocation":{"artifactLocation":{"uri":"c.go"}}}]}`,
			want:   Finding{RuleID: "R2", Level: "warning", Severity: Medium, Location: "a/b.go:7"},
			wantOK: true,
		},
		{
			name:   "location without a region",
			give:   `{"ruleId":"R2","locations":[{"physicalLocation":{"artifactLocation":{"uri":"go.sum"}}}]}`,
			want:   Finding{RuleID: "R2", Level: "warning", Severity: Medium, Location: "go.sum"},
			wantOK: true,
		},
		{
			name:   "nulls read as absent",
			give:   `{"ruleId":"R2","level":null,"message":null,"locations":null,"suppressions":null,"properties":{"security-severity":null}}`,
			want:   Finding{RuleID: "R2", Level: "warning", Severity: Medium},
			wantOK: true,
		},
		{name: "suppression accepted", give: `{"ruleId":"R0","suppressions":[{"kind":"external","status":"accepted"}]}`},
		{name: "suppression without status", give: `{"ruleId":"R0","suppressions":[{"kind":"inSource"}]}`},
		{
			name:   "suppression under review is still a finding",
			give:   `{"ruleId":"R0","suppressions":[{"kind":"external","status":"underReview"}]}`,
			want:   Finding{RuleID: "R0", Level: "note", Score: 4, Severity: Medium},
			wantOK: true,
		},
		{
			name:   "a rejected suppression outweighs an accepted one",
			give:   `{"ruleId":"R0","suppressions":[{"status":"accepted"},{"status":"rejected"}]}`,
			want:   Finding{RuleID: "R0", Level: "note", Score: 4, Severity: Medium},
			wantOK: true,
		},
		{
			name:   "empty suppressions array suppresses nothing",
			give:   `{"ruleId":"R0","suppressions":[]}`,
			want:   Finding{RuleID: "R0", Level: "note", Score: 4, Severity: Medium},
			wantOK: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runs, err := ParseSARIF(strings.NewReader(sarifLog(tool, tt.give)))
			if err != nil {
				t.Fatalf("ParseSARIF: %v", err)
			}
			got := runs[0].Results
			switch {
			case !tt.wantOK && len(got) != 0:
				t.Errorf("ParseSARIF results = %+v, want none", got)
			case tt.wantOK && (len(got) != 1 || got[0] != tt.want):
				t.Errorf("ParseSARIF results = %+v, want [%+v]", got, tt.want)
			}
		})
	}
}

func TestParseSARIFRunsAndOrder(t *testing.T) {
	give := `{"runs":[{"results":[{"ruleId":"A","ruleIndex":0}],"tool":{"driver":{"name":"first","rules":[{"id":"A","defaultConfiguration":{"level":"error"}}]}}},` +
		`{"tool":{"driver":{"name":"second"}},"results":[]},{"tool":{"driver":{"name":"third"}}}],"$schema":"x","version":"2.1.0"}`
	runs, err := ParseSARIF(strings.NewReader(give))
	if err != nil {
		t.Fatalf("ParseSARIF: %v", err)
	}
	var tools []string
	for _, r := range runs {
		tools = append(tools, r.Tool)
	}
	if got := strings.Join(tools, ","); got != "first,second,third" {
		t.Errorf("run tools = %s, want first,second,third", got)
	}
	if len(runs[0].Results) != 1 || runs[0].Results[0].Level != "error" {
		t.Errorf("first run results = %+v, want one error resolved against a rule listed after it", runs[0].Results)
	}
	if len(runs[1].Results) != 0 || len(runs[2].Results) != 0 {
		t.Errorf("empty runs have results: %+v, %+v", runs[1].Results, runs[2].Results)
	}
}

func TestParseSARIFErrors(t *testing.T) {
	const driver = `{"driver":{"name":"x"}}`
	tests := []struct {
		name string
		give string
		want string // the error up to the byte offset
	}{
		{name: "level is a number", give: sarifLog(driver, `{},{},{},{"level":3}`), want: "sarif: runs[0].results[3].level: want a string, got a number"},
		{name: "level is unknown", give: sarifLog(driver, `{"level":"fatal"}`), want: `sarif: runs[0].results[0].level: "fatal" is not one of none, note, warning, error`},
		{name: "ruleIndex is a string", give: sarifLog(driver, `{"ruleIndex":"1"}`), want: "sarif: runs[0].results[0].ruleIndex: want an integer, got a string"},
		{name: "ruleIndex is a fraction", give: sarifLog(driver, `{"ruleIndex":1.5}`), want: "sarif: runs[0].results[0].ruleIndex: want an integer, got 1.5"},
		{name: "ruleIndex below -1", give: sarifLog(driver, `{"ruleIndex":-2}`), want: "sarif: runs[0].results[0].ruleIndex: index -2 is negative"},
		{name: "message text is a number", give: sarifLog(driver, `{"message":{"text":5}}`), want: "sarif: runs[0].results[0].message.text: want a string, got a number"},
		{name: "message is a string", give: sarifLog(driver, `{"message":"hi"}`), want: "sarif: runs[0].results[0].message: want an object, got a string"},
		{name: "startLine is a string", give: sarifLog(driver, `{"locations":[{"physicalLocation":{"region":{"startLine":"7"}}}]}`), want: "sarif: runs[0].results[0].locations[0].physicalLocation.region.startLine: want an integer, got a string"},
		{name: "security-severity is a word", give: sarifLog(driver, `{"properties":{"security-severity":"high"}}`), want: `sarif: runs[0].results[0].properties.security-severity: "high" is not a number`},
		{name: "security-severity out of range", give: sarifLog(driver, `{"properties":{"security-severity":11}}`), want: "sarif: runs[0].results[0].properties.security-severity: 11 is outside 0..10"},
		{name: "security-severity is a boolean", give: sarifLog(driver, `{"properties":{"security-severity":true}}`), want: "sarif: runs[0].results[0].properties.security-severity: want a number or a numeric string, got a boolean"},
		{name: "rule tag is a number", give: sarifLog(`{"driver":{"rules":[{"id":"a","properties":{"tags":["x",1]}}]}}`, ``), want: "sarif: runs[0].tool.driver.rules[0].properties.tags[1]: want a string, got a number"},
		{name: "rule level unknown", give: sarifLog(`{"driver":{"rules":[{"defaultConfiguration":{"level":"high"}}]}}`, ``), want: `sarif: runs[0].tool.driver.rules[0].defaultConfiguration.level: "high" is not one of none, note, warning, error`},
		{name: "driver name is an array", give: sarifLog(`{"driver":{"name":[]}}`, ``), want: "sarif: runs[0].tool.driver.name: want a string, got an array"},
		{name: "suppression status unknown", give: sarifLog(driver, `{"suppressions":[{"status":"maybe"}]}`), want: `sarif: runs[0].results[0].suppressions[0].status: "maybe" is not one of accepted, underReview, rejected`},
		{name: "results is an object", give: `{"runs":[{"results":{}}]}`, want: "sarif: runs[0].results: want an array, got an object"},
		{name: "runs is an object", give: `{"runs":{}}`, want: "sarif: runs: want an array, got an object"},
		{name: "root is an array", give: `[]`, want: "sarif: want an object, got an array"},
		{name: "wrong version", give: `{"version":"2.0.0","runs":[]}`, want: `sarif: version: "2.0.0", want 2.1.0`},
		{name: "no runs", give: `{"version":"2.1.0"}`, want: "sarif: no runs: not a SARIF log"},
		{name: "empty", give: ``, want: "sarif: unexpected EOF"},
		{name: "truncated", give: `{"runs":[{"results":[`, want: "sarif: runs[0].results: unexpected EOF"},
		{name: "syntax error", give: `{"runs":[}`, want: "sarif: runs: invalid character '}' looking for beginning of value"},
		{name: "trailing data", give: `{"runs":[]} {"runs":[]}`, want: "sarif: unexpected data after the document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSARIF(strings.NewReader(tt.give))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("ParseSARIF(%s) error = %v, want %q", tt.give, err, tt.want)
			}
			if rest := strings.TrimPrefix(err.Error(), tt.want); rest != "" && !strings.HasPrefix(rest, " (byte ") {
				t.Errorf("ParseSARIF error = %q, want %q then at most a byte offset", err, tt.want)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Errorf("ParseSARIF error %T is not a *ParseError", err)
			}
		})
	}
}

func TestSeverityForScore(t *testing.T) {
	tests := []struct {
		give float64
		want Severity
	}{
		{10, Critical}, {9, Critical}, {8.99, High}, {7, High}, {6.9, Medium},
		{4, Medium}, {3.9, Low}, {0.1, Low}, {0, NoSeverity},
	}
	for _, tt := range tests {
		if got := SeverityForScore(tt.give); got != tt.want {
			t.Errorf("SeverityForScore(%v) = %q, want %q", tt.give, got, tt.want)
		}
	}
}

func TestSubstitute(t *testing.T) {
	tests := []struct {
		format string
		args   []string
		want   string
	}{
		{format: "plain", want: "plain"},
		{format: "{0} and {1}", args: []string{"a", "b"}, want: "a and b"},
		{format: "{1}{0}{1}", args: []string{"a", "b"}, want: "bab"},
		{format: "{2} {x} {", args: []string{"a"}, want: "{2} {x} {"},
	}
	for _, tt := range tests {
		if got := substitute(tt.format, tt.args); got != tt.want {
			t.Errorf("substitute(%q, %q) = %q, want %q", tt.format, tt.args, got, tt.want)
		}
	}
}
