package policy_test

import (
	"strings"
	"testing"

	"github.com/highwayhq/highway/shared/policy"
)

const drifting = `version: 1
hub: {account: "111111111111", region: eu-west-1}
apps:
  - {name: checkout, repository: checkout-service, environments: [{name: dev, account: "222222222222", region: eu-west-1}]}
drift:
  schedule: rate(6 hours)
  stacks: {prefixes: [checkout-], tags: {team: payments}}
  concurrency: 4
  ratePerSecond: 2
  severities:
    - {type: "AWS::EC2::SecurityGroup", property: /SecurityGroupIngress, severity: critical}
  suppressions:
    - {type: "AWS::Lambda::Function", property: /Environment/Variables/DEPLOYED_AT, reason: set by the deploy job}
    - {type: aws_security_group, property: ingress, reason: the on-call opens ports by hand}
  terraform:
    - {name: network-dev, project: terraform-drift-network, account: "222222222222", region: eu-west-1, artifactBucket: dev-terraform-plans}
    - {name: network-hub, project: terraform-drift-network, account: "111111111111", region: eu-west-1, artifactBucket: hub-terraform-plans}
`

func TestParseDrift(t *testing.T) {
	p, err := policy.Parse([]byte(drifting), "p.yaml")
	if err != nil {
		t.Fatalf("Parse(drifting) error: %v", err)
	}
	if d := p.Drift; d.Schedule != "rate(6 hours)" || d.Stacks.Tags["team"] != "payments" || d.Severities[0].Severity != "critical" ||
		len(d.Terraform) != 2 || d.Terraform[0] != (policy.TerraformWorkspace{Name: "network-dev", Project: "terraform-drift-network",
		Account: "222222222222", Region: "eu-west-1", ArtifactBucket: "dev-terraform-plans"}) {
		t.Errorf("Parse(drifting).Drift = %+v", d)
	}
	tests := []struct{ name, old, new, want string }{
		{"bad schedule", "rate(6 hours)", "every 6 hours", "is not an EventBridge schedule expression"},
		{"unknown severity", "severity: critical", "severity: urgent", `severity "urgent" must be one of critical, high, medium, low`},
		{"type not CloudFormation", `type: "AWS::EC2::SecurityGroup"`, `type: "SecurityGroup"`, "is not a CloudFormation resource type pattern"},
		{"property not a path", "property: /SecurityGroupIngress", "property: SecurityGroupIngress", "must be a path like /SecurityGroupIngress"},
		{"too fast", "ratePerSecond: 2", "ratePerSecond: 50", "CloudFormation throttles beyond"},
		{"no selector", "stacks: {prefixes: [checkout-], tags: {team: payments}}", "stacks: {}", "select stacks by prefixes or tags"},
		{"suppression without reason", "reason: set by the deploy job", "reason: ' '", "a suppression needs a reason"},
		{"Terraform attribute as a CloudFormation path", "property: ingress,", "property: /ingress,", `attribute "/ingress" must be a Terraform attribute path like ingress`},
		{"Terraform type in capitals", "type: aws_security_group", "type: AwsSecurityGroup", "nor a Terraform one like aws_security_group"},
		{"workspace name", "name: network-dev", "name: network dev", `workspace name "network dev" may hold only`},
		{"duplicate workspace", "name: network-hub", "name: network-dev", `duplicate workspace "network-dev" (first at line 16)`},
		{"workspace outside the accounts", `account: "222222222222", region: eu-west-1, artifactBucket`, `account: "333333333333", region: eu-west-1, artifactBucket`,
			"account 333333333333 in eu-west-1 is neither the hub's nor an app's or environment's"},
		{"workspace in another region", `account: "222222222222", region: eu-west-1, artifactBucket`, `account: "222222222222", region: us-east-1, artifactBucket`,
			"account 222222222222 in us-east-1 is neither"},
		{"project planning two workspaces", `account: "111111111111", region: eu-west-1, artifactBucket: hub`, `account: "222222222222", region: eu-west-1, artifactBucket: hub`,
			`project "terraform-drift-network" already plans another workspace (line 16)`},
		{"project name", "project: terraform-drift-network, account: \"222", "project: terraform drift, account: \"222", `project "terraform drift" is not a CodeBuild project name`},
		{"bucket name", "artifactBucket: dev-terraform-plans", "artifactBucket: Dev_Plans", `bucket "Dev_Plans" is not an S3 bucket name`},
		{"workspace without its bucket", ", artifactBucket: dev-terraform-plans}", "}", "artifactBucket"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			give := strings.Replace(drifting, tt.old, tt.new, 1)
			if give == drifting {
				t.Fatalf("edit %q changed nothing", tt.old)
			}
			if _, err := policy.Parse([]byte(give), "p.yaml"); err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "p.yaml:") {
				t.Errorf("Parse(%s) error = %v, want %q with its line", tt.name, err, tt.want)
			}
		})
	}
}
