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
`

func TestParseDrift(t *testing.T) {
	p, err := policy.Parse([]byte(drifting), "p.yaml")
	if err != nil {
		t.Fatalf("Parse(drifting) error: %v", err)
	}
	if d := p.Drift; d.Schedule != "rate(6 hours)" || d.Stacks.Tags["team"] != "payments" || d.Severities[0].Severity != "critical" {
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
