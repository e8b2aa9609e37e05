package policy

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// future stands for sections later capabilities add (gates, runbooks, drift):
// the walk must check them from their struct tags alone.
type future struct {
	Version int               `yaml:"version" policy:"required"`
	Gates   map[string]gate   `yaml:"gates"`
	Drift   *drift            `yaml:"drift"`
	Labels  map[string]string `yaml:"labels"`
	common  `yaml:",inline"`
	Skipped string `yaml:"-"`
	Level   level  `yaml:"level"`
}

// level decodes itself, as a section type with its own syntax would.
type level int

func (l *level) UnmarshalYAML(n *yaml.Node) error {
	switch n.Value {
	case "low":
		*l = 1
	case "high":
		*l = 2
	default:
		return fmt.Errorf("level %q: want low or high", n.Value)
	}
	return nil
}

type gate struct {
	MaxFindings int           `yaml:"maxFindings" policy:"required"`
	Timeout     time.Duration `yaml:"timeout"`
	Ratio       float64       `yaml:"ratio"`
	Blocking    bool          `yaml:"blocking"`
}

type drift struct {
	Schedule string   `yaml:"schedule" policy:"required"`
	Ignore   []string `yaml:"ignore"`
}

type common struct {
	Owner string `yaml:"owner"`
}

func TestWalkFutureSections(t *testing.T) {
	tests := []struct {
		name string
		give string
		want string
	}{
		{
			name: "all kinds valid",
			give: "version: 1\nowner: platform\ngates:\n  lint: {maxFindings: 0, timeout: 90s, ratio: 1, blocking: true}\n" +
				"drift: {schedule: rate(1 hour), ignore: [a]}\nlabels: {team: payments}\n",
			want: "",
		},
		{
			name: "map entry missing a required key",
			give: "version: 1\ngates:\n  lint: {timeout: 90s}\n",
			want: `f.yaml:3:3: gates.lint: missing required key "maxFindings"`,
		},
		{
			name: "map key that is not an identifier",
			give: "version: 1\ngates:\n  \"unit tests\": {maxFindings: x}\n",
			want: `f.yaml:3:31: gates["unit tests"].maxFindings: want an integer, got a string ("x")`,
		},
		{
			name: "duration, boolean and number of the wrong type",
			give: "version: 1\ngates:\n  lint: {maxFindings: 1, timeout: [1], blocking: 1, ratio: high}\n",
			want: "f.yaml:3:35: gates.lint.timeout: want a duration like 90s, got a sequence\n" +
				"f.yaml:3:50: gates.lint.blocking: want a boolean, got a number (\"1\")\n" +
				"f.yaml:3:60: gates.lint.ratio: want a number, got a string (\"high\")",
		},
		{
			name: "optional section left null",
			give: "version: 1\ndrift:\n",
			want: "",
		},
		{
			name: "inline key known, skipped key unknown",
			give: "version: 1\nowner: me\nSkipped: x\n",
			want: `f.yaml:3:1: unknown key "Skipped"`,
		},
		{
			name: "merge from a list of mappings",
			give: "version: 1\ndrift: {<<: [{schedule: daily}, {ignore: [x]}]}\n",
			want: "",
		},
		{
			name: "merge of a scalar",
			give: "version: 1\ndrift: {<<: 5, schedule: daily}\n",
			want: `f.yaml:2:13: drift: merge key << wants a mapping, got a number`,
		},
		{
			name: "self-decoding value accepted",
			give: "version: 1\nlevel: high\n",
			want: "",
		},
		{
			name: "self-decoding value rejected with its position",
			give: "version: 1\nlevel: extreme\n",
			want: `f.yaml:2:8: level: level "extreme": want low or high`,
		},
		{
			name: "list of strings given a string",
			give: "version: 1\ndrift: {schedule: daily, ignore: one}\n",
			want: `f.yaml:2:34: drift.ignore: want a sequence, got a string ("one")`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newChecker("f.yaml")
			root := c.document([]byte(tt.give))
			c.record("", nil, root)
			c.walk(root, reflect.TypeFor[future](), "")
			got := ""
			if err := c.result(); err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("walk(%q) =\n%s\nwant\n%s", tt.give, got, tt.want)
			}
			var v future
			if err := root.Decode(&v); tt.want == "" && err != nil {
				t.Errorf("Decode(%q) after a clean walk: %v", tt.give, err)
			}
		})
	}
}

func TestSuggest(t *testing.T) {
	fields := fieldsOf(reflect.TypeFor[Hub]())
	tests := []struct {
		give string
		want string
	}{
		{give: "acount", want: "account"},
		{give: "regoin", want: "region"},
		{give: "Name", want: "name"},
		{give: "notify", want: "notifyEmails"},
		{give: "logRetention", want: "logRetentionDays"},
		{give: "colour", want: ""},
		{give: "ab", want: ""},
	}
	for _, tt := range tests {
		if got := suggest(tt.give, fields); got != tt.want {
			t.Errorf("suggest(%q) = %q, want %q", tt.give, got, tt.want)
		}
	}
}

func TestErrorfPlacesAbsentValuesAtTheirSection(t *testing.T) {
	c := newChecker("f.yaml")
	root := c.document([]byte("version: 1\ndrift:\n  schedule: daily\n"))
	c.record("", nil, root)
	c.walk(root, reflect.TypeFor[future](), "")
	c.errorf("drift.ignore", "want at least one")
	c.errorf("gates.lint", "want a lint gate")
	want := "f.yaml:2:1: drift.ignore: want at least one\nf.yaml:1:1: gates.lint: want a lint gate"
	if got := c.errs.Error(); got != want {
		t.Errorf("errors =\n%s\nwant\n%s", got, want)
	}
}

func TestDecodeErrorKeepsLinesAndSkipsReportedOnes(t *testing.T) {
	c := newChecker("f.yaml")
	c.errs = Errors{{File: "f.yaml", Line: 2, Column: 3, Path: "a", Msg: "want an integer, got a string"}}
	went := c.decodeError(&yaml.TypeError{Errors: []string{
		"line 2: cannot unmarshal !!str `x` into int",
		"line 5: cannot unmarshal !!int `300` into int8",
	}})
	if !went {
		t.Errorf("decodeError(TypeError) = false, want true: the decoder goes on past type errors")
	}
	want := "f.yaml:2:3: a: want an integer, got a string\nf.yaml:5: cannot unmarshal !!int `300` into int8"
	if got := c.errs.Error(); got != want {
		t.Errorf("errors =\n%s\nwant\n%s", got, want)
	}
	if c.decodeError(fmt.Errorf("yaml: line 7: boom")) {
		t.Errorf("decodeError(plain error) = true, want false: the decoder stopped")
	}
}
