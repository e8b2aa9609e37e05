package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/ledger"
)

// plans is where the real terraform show -json outputs of the drift tests are.
const plans = "../../shared/drift/testdata/terraform/"

// highway drift terraform exits 0 when no resource drifted, 1 when one did,
// 2 when the file is not a plan it can read.
func TestDriftTerraformExitStatus(t *testing.T) {
	suppressing := filepath.Join(t.TempDir(), "highway.yaml")
	policy, err := os.ReadFile("../../infra/highway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(policy), "  suppressions:\n", "  suppressions:\n    - {type: aws_security_group, property: ingress, reason: the on-call opens ports}\n", 1)
	if err := os.WriteFile(suppressing, []byte(edited), 0o600); err != nil || edited == string(policy) {
		t.Fatalf("write %s: %v (edited: %v)", suppressing, err, edited != string(policy))
	}
	tests := []struct {
		name     string
		args     []string
		want     int
		wantText string // in stdout, or stderr on exit status 2
	}{
		{"refresh-only plan with drift", []string{"--plan", plans + "aws/refresh-only-drift.json", "--workspace", "network-prod"}, 1,
			"terraform:network-prod                   DRIFTED          1 of 1 resources changed outside Terraform, Terraform 1.11.4\n" +
				"    CRITICAL MODIFIED  aws_security_group aws_security_group.web (sg-0c1d2e3f4a5b6c7d8)\n" +
				`        ADD ingress[0]: - → {"cidr_blocks":["0.0.0.0/0"],"description":"debug, remove after the incident",`},
		{"refresh-only plan without drift", []string{"--plan", plans + "aws/refresh-only-in-sync.json"}, 0,
			"terraform                                IN_SYNC          0 of 1 resources changed outside Terraform, Terraform 1.11.4\n"},
		{"normal plan with only planned changes", []string{"--plan", plans + "aws/planned.json"}, 0,
			"IN_SYNC          0 of 1 resources changed outside Terraform, Terraform 1.11.4\n1 planned change in resource_changes: what applying would do, not drift\n"},
		{"Terraform's plan of creates", []string{"--plan", plans + "planned-only.json"}, 0, "7 planned changes in resource_changes"},
		{"normal plan with drift", []string{"--plan", plans + "aws/normal-with-drift.json"}, 1, "CRITICAL MODIFIED  aws_security_group aws_security_group.web"},
		{"sensitive values masked", []string{"--plan", plans + "drift-sensitive.json"}, 1, "NOT_EQUAL password: (sensitive value) → (sensitive value)"},
		{"suppressed drift", []string{"--plan", plans + "aws/refresh-only-drift.json", "--policy", suppressing}, 0,
			"DRIFTED          1 of 1 resources changed outside Terraform, Terraform 1.11.4\n    CRITICAL MODIFIED  aws_security_group aws_security_group.web (sg-0c1d2e3f4a5b6c7d8)  (suppressed: the on-call opens ports)"},
		{"a state, not a plan", []string{"--plan", plans + "state.json"}, 2, "not a Terraform plan: this is a Terraform state"},
		{"a plan that errored", []string{"--plan", plans + "errored.json"}, 2, "Terraform could not finish this plan"},
		{"not JSON", []string{"--plan", plans + "malformed.json"}, 2, "malformed.json: not a Terraform plan: not JSON: line 676"},
		{"no such file", []string{"--plan", "nope.json"}, 2, "--plan: open nope.json: no such file or directory"},
		{"no plan", nil, 2, "--plan is required"},
		{"a workspace the policy does not name", []string{"--plan", plans + "drift.json", "--workspace", "network-dev"}, 2,
			"--workspace network-dev: ../../infra/highway.yaml names no such Terraform workspace (it has network-prod)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if !strings.Contains(strings.Join(args, " "), "--policy") {
				args = append(args, "--policy", "../../infra/highway.yaml")
			}
			r := highway(t, "", append([]string{"drift", "terraform"}, args...)...)
			if r.status != tt.want {
				t.Errorf("drift terraform %v: exit status %d, want %d\n%s%s", args, r.status, tt.want, r.out, r.errOut)
			}
			printed := r.out
			if tt.want == 2 {
				printed = r.errOut
			}
			if !strings.Contains(printed, tt.wantText) {
				t.Errorf("drift terraform printed:\n%s\nwant it to contain %q", printed, tt.wantText)
			}
		})
	}
}

func TestDriftTerraformJSON(t *testing.T) {
	r := highway(t, "", "drift", "terraform", "--plan", plans+"aws/refresh-only-drift.json", "--workspace", "network-prod", "--json", "--policy", "../../infra/highway.yaml")
	var rep struct {
		Workspace, Status string
		Resources         int
		Drifted           []struct {
			LogicalID, Severity string
			Differences         []struct{ Path, Type string }
		}
	}
	if err := json.Unmarshal([]byte(r.out), &rep); err != nil {
		t.Fatalf("--json printed %q: %v", r.out, err)
	}
	if r.status != 1 || rep.Workspace != "network-prod" || rep.Status != "DRIFTED" || rep.Resources != 1 || len(rep.Drifted) != 1 ||
		rep.Drifted[0].LogicalID != "aws_security_group.web" || rep.Drifted[0].Severity != "critical" || rep.Drifted[0].Differences[0].Path != "ingress[0]" {
		t.Errorf("--json: exit status %d, %+v; want the security group's critical drift", r.status, rep)
	}
}

func TestDriftReportShowsWorkspaces(t *testing.T) {
	at := time.Date(2026, 11, 18, 6, 0, 0, 0, time.UTC)
	reports := []*ledger.DriftReport{
		{Header: ledger.Header{ID: "444444444444/eu-west-1/terraform:network-prod", At: at}, Workspace: "network-prod", Project: "terraform-drift-network-prod",
			Status: "DRIFTED", Account: "444444444444", Region: "eu-west-1", Drifted: []ledger.DriftedResource{
				{LogicalID: "aws_security_group.web", Type: "aws_security_group", Status: "MODIFIED", Severity: "critical",
					Differences: []ledger.PropertyDifference{{Path: "ingress[0]", Actual: `{"from_port":22}`, Type: "ADD"}}}}},
		{Header: ledger.Header{ID: "444444444444/eu-west-1/terraform:network-dr", At: at}, Workspace: "network-dr", Status: "DETECTION_FAILED",
			Account: "444444444444", Region: "eu-west-1", Reason: "build FAILED, no plan Highway can read: the build left no S3 artifact"},
	}
	var out bytes.Buffer
	if err := writeDrift(&out, reports, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"terraform:network-prod                   DRIFTED          444444444444/eu-west-1  checked 2026-11-18 06:00Z\n" +
			"    CRITICAL MODIFIED  aws_security_group aws_security_group.web\n" +
			`        ADD ingress[0]: - → {"from_port":22}`,
		"terraform:network-dr                     DETECTION_FAILED 444444444444/eu-west-1  checked 2026-11-18 06:00Z\n" +
			"    build FAILED, no plan Highway can read: the build left no S3 artifact\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("drift report lacks %q:\n%s", want, out.String())
		}
	}
}
