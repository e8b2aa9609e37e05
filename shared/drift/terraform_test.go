package drift

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
)

// openPlan opens a plan of testdata/terraform.
func openPlan(t testing.TB, name string) *os.File {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "terraform", name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// diffLines renders drifted resources as "address STATUS" followed by one
// "  TYPE path: expected → actual" line per difference.
func diffLines(rs []ledger.DriftedResource) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.LogicalID+" "+r.Status)
		for _, d := range r.Differences {
			out = append(out, fmt.Sprintf("  %s %s: %s → %s", d.Type, d.Path, d.Expected, d.Actual))
		}
	}
	return out
}

func TestParseTerraformPlanReadsResourceDrift(t *testing.T) {
	tests := []struct {
		name      string
		give      string
		want      []string // diffLines of the drift
		resources int
		planned   int
	}{
		{
			name: "refresh-only plan with drift (AWS provider)", give: "aws/refresh-only-drift.json", resources: 1,
			want: []string{
				"aws_security_group.web MODIFIED",
				`  ADD ingress[0]:  → {"cidr_blocks":["0.0.0.0/0"],"description":"debug, remove after the incident","from_port":22,"ipv6_cidr_blocks":[],"prefix_list_ids":[],"protocol":"tcp","security_groups":[],"self":false,"to_port":22}`,
			},
		},
		{
			name: "normal plan with drift and the change that undoes it", give: "aws/normal-with-drift.json", resources: 1, planned: 1,
			want: []string{
				"aws_security_group.web MODIFIED",
				`  ADD ingress[0]:  → {"cidr_blocks":["0.0.0.0/0"],"description":"debug, remove after the incident","from_port":22,"ipv6_cidr_blocks":[],"prefix_list_ids":[],"protocol":"tcp","security_groups":[],"self":false,"to_port":22}`,
			},
		},
		{name: "refresh-only plan in sync (AWS provider)", give: "aws/refresh-only-in-sync.json", resources: 1},
		{name: "normal plan with only a planned change (AWS provider)", give: "aws/planned.json", resources: 1, planned: 1},
		{
			name: "Terraform's drift test plan", give: "drift.json", resources: 2, planned: 2,
			want: []string{"test_instance.should_refresh MODIFIED", `  NOT_EQUAL ami: "refresh-me" → "refreshed"`},
		},
		{name: "Terraform's refresh-only plan without drift", give: "refresh-only-in-sync.json", resources: 2},
		{name: "terraform-json's plan of creates and a read", give: "planned-only.json", planned: 7},
		{name: "Terraform's plan creating a sensitive value", give: "planned-sensitive.json", planned: 1},
		{
			name: "drift of sensitive values", give: "drift-sensitive.json", resources: 2, planned: 2,
			want: []string{
				"test_instance.should_refresh MODIFIED",
				`  NOT_EQUAL ami: "refresh-me" → "refreshed"`,
				`  NOT_EQUAL password: (sensitive value) → (sensitive value)`,
				`  NOT_EQUAL tags.Token: (sensitive value) → (sensitive value)`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := ParseTerraformPlan(openPlan(t, tt.give))
			if err != nil {
				t.Fatalf("ParseTerraformPlan(%s) error: %v", tt.give, err)
			}
			if got := diffLines(plan.Drifted); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("ParseTerraformPlan(%s) drift =\n%s\nwant\n%s", tt.give, strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if plan.Resources != tt.resources || plan.Planned != tt.planned {
				t.Errorf("ParseTerraformPlan(%s) = %d resources, %d planned; want %d, %d", tt.give, plan.Resources, plan.Planned, tt.resources, tt.planned)
			}
		})
	}
}

func TestParseTerraformPlanNeverShowsSensitiveValues(t *testing.T) {
	plan, err := ParseTerraformPlan(openPlan(t, "drift-sensitive.json"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(plan)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"hunter2", "correct-horse", "tok-old", "tok-new"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("the drift of drift-sensitive.json shows %q: %s", secret, b)
		}
	}
}

func TestParseTerraformPlanRefusesWhatIsNotAPlan(t *testing.T) {
	tests := []struct {
		name string
		give func(t *testing.T) *os.File
		want string
	}{
		{"a state", file("state.json"), "this is a Terraform state"},
		{"broken JSON", file("malformed.json"), "not JSON: line 676:"},
		{"a plan that errored", file("errored.json"), "Terraform could not finish this plan"},
		{"the streamed UI of terraform plan -json", text(`{"@level":"info","@message":"Terraform 1.11.4","type":"version","terraform":"1.11.4","ui":"1.2"}` + "\n" +
			`{"@level":"info","@message":"Plan: 0 to add, 0 to change, 0 to destroy.","type":"change_summary","changes":{"add":0,"change":0,"import":0,"remove":0,"operation":"plan"}}` + "\n"),
			"one JSON value a line"},
		{"a JSON list", text(`[{"format_version": "1.2"}]`), "the JSON is a array, not an object"},
		{"JSON without format_version", text(`{"planned_values": {}}`), "no format_version"},
		{"a format this Highway does not read", text(`{"format_version": "2.0", "planned_values": {}}`), "unsupported plan format version"},
		{"empty", text(""), "not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseTerraformPlan(tt.give(t))
			if !errors.Is(err, ErrNotPlan) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseTerraformPlan(%s) error = %v, want ErrNotPlan saying %q", tt.name, err, tt.want)
			}
		})
	}
}

// file opens a plan of testdata/terraform; text writes s to a file.
func file(name string) func(t *testing.T) *os.File {
	return func(t *testing.T) *os.File { return openPlan(t, name) }
}

func text(s string) func(t *testing.T) *os.File {
	return func(t *testing.T) *os.File {
		name := filepath.Join(t.TempDir(), "plan.json")
		if err := os.WriteFile(name, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
}

// resourceDriftPlan is a plan whose resource_drift holds one aws_instance
// changed from before to after.
func resourceDriftPlan(before, after, beforeSensitive, afterSensitive any) string {
	change := map[string]any{"actions": []string{"update"}, "before": before, "after": after,
		"before_sensitive": beforeSensitive, "after_sensitive": afterSensitive}
	b, _ := json.Marshal(map[string]any{
		"format_version": "1.2", "planned_values": map[string]any{"root_module": map[string]any{}},
		"resource_drift": []any{map[string]any{"address": "aws_instance.web", "mode": "managed", "type": "aws_instance", "name": "web", "change": change}},
	})
	return string(b)
}

func TestParseTerraformPlanBoundsWhatItKeeps(t *testing.T) {
	wide := map[string]any{}
	changed := map[string]any{}
	for i := range 3 {
		var before, after []any
		for j := range 40 {
			before = append(before, map[string]any{"port": j})
			after = append(after, map[string]any{"port": j + 1})
		}
		wide[fmt.Sprintf("rules_%d", i)], changed[fmt.Sprintf("rules_%d", i)] = before, after
	}
	long := strings.Repeat("x", 2*MaxValueBytes)
	tests := []struct {
		name              string
		before, after     any
		bs, as            any
		wantPaths         []string
		wantLongestValues int
	}{
		{
			name: "more paths than MaxDifferences: the top-level attributes", before: wide, after: changed,
			wantPaths: []string{"rules_0", "rules_1", "rules_2"}, wantLongestValues: MaxValueBytes,
		},
		{
			name:   "a long value is cut",
			before: map[string]any{"user_data": "short"}, after: map[string]any{"user_data": long},
			wantPaths: []string{"user_data"}, wantLongestValues: MaxValueBytes,
		},
		{
			name:   "a whole sensitive object hides its shape",
			before: map[string]any{"secret": map[string]any{"a": "1"}}, after: map[string]any{"secret": map[string]any{"a": "2", "b": "3"}},
			bs: map[string]any{"secret": true}, as: map[string]any{"secret": true},
			wantPaths: []string{"secret"}, wantLongestValues: len(SensitiveValue),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := ParseTerraformPlan(strings.NewReader(resourceDriftPlan(tt.before, tt.after, tt.bs, tt.as)))
			if err != nil {
				t.Fatal(err)
			}
			if len(plan.Drifted) != 1 {
				t.Fatalf("drift = %v, want one resource", diffLines(plan.Drifted))
			}
			var paths []string
			longest := 0
			for _, d := range plan.Drifted[0].Differences {
				paths = append(paths, d.Path)
				longest = max(longest, len(d.Expected), len(d.Actual))
			}
			if strings.Join(paths, " ") != strings.Join(tt.wantPaths, " ") || longest != tt.wantLongestValues {
				t.Errorf("paths %v, longest value %d bytes; want %v, %d", paths, longest, tt.wantPaths, tt.wantLongestValues)
			}
		})
	}
}

// terraformRules rates and suppresses Terraform resources, as a policy does.
var terraformRules = &policy.Drift{
	Severities: []policy.SeverityRule{
		{Type: "aws_security_group", Property: "ingress", Severity: "critical"},
		{Type: "aws_iam_*", Severity: "high"},
	},
	Suppressions: []policy.Suppression{{Type: "aws_autoscaling_group", Property: "desired_capacity", Reason: "scaled by its policy"}},
}

func TestTriageRatesTerraformResourcesByTypeAndAttribute(t *testing.T) {
	at := time.Date(2026, 11, 18, 6, 0, 0, 0, time.UTC)
	tests := []struct {
		typ, path      string
		wantSeverity   string
		wantSuppressed bool
	}{
		{"aws_security_group", "ingress[0]", "critical", false},
		{"aws_security_group", "ingress", "critical", false},
		{"aws_security_group", "ingress[2].cidr_blocks[0]", "critical", false},
		{"aws_security_group", "ingress_rules", "medium", false},
		{"aws_security_group", "egress[0]", "medium", false},
		{"aws_iam_role", "inline_policy", "high", false},
		{"aws_autoscaling_group", "desired_capacity", "medium", true},
		{"aws_autoscaling_group", "max_size", "medium", false},
	}
	for _, tt := range tests {
		t.Run(tt.typ+" "+tt.path, func(t *testing.T) {
			rs := []ledger.DriftedResource{{LogicalID: tt.typ + ".x", Type: tt.typ, Status: ResourceModified,
				Differences: []ledger.PropertyDifference{{Path: tt.path, Type: "NOT_EQUAL"}}}}
			Triage(terraformRules, rs, at)
			if rs[0].Severity != tt.wantSeverity || rs[0].Suppressed != tt.wantSuppressed {
				t.Errorf("Triage(%s %s) = %s, suppressed %v; want %s, %v", tt.typ, tt.path, rs[0].Severity, rs[0].Suppressed, tt.wantSeverity, tt.wantSuppressed)
			}
		})
	}
}
