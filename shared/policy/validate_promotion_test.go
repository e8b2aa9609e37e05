package policy_test

import (
	"strings"
	"testing"

	"github.com/highwayhq/highway/shared/policy"
)

const promoted = `version: 1
hub: {account: "111111111111", region: eu-west-1}
apps:
  - name: checkout
    repository: checkout-service
    environments:
      - name: prod
        account: "444444444444"
        region: eu-west-1
        soak: 1h
        approval: {approvers: [ana@example.com, lee@example.com], quorum: 2, timeout: 48h, heartbeat: 1h}
        deploy: {ecs: {cluster: shop, service: checkout, container: app}}
`

func TestParsePromotionErrors(t *testing.T) {
	if _, err := policy.Parse([]byte(promoted), "p.yaml"); err != nil {
		t.Fatalf("Parse(promoted) error: %v", err)
	}
	tests := []struct {
		name, old, new, want string
	}{
		{"two deploy kinds", "deploy: {ecs:", "deploy: {ssm: {parameter: /x}, ecs:", "deploy must say exactly one of ssm, pipeline, lambda or ecs (it says 2)"},
		{"no deploy kind", "deploy: {ecs: {cluster: shop, service: checkout, container: app}}", "deploy: {}", "(it says 0)"},
		{"approver not an address", "[ana@example.com, lee@example.com]", "[Ana <ana@example.com>, lee@example.com]", `approver "Ana <ana@example.com>" is not a bare e-mail address`},
		{"duplicate approver", "[ana@example.com, lee@example.com]", "[ana@example.com, ana@example.com]", `duplicate approver "ana@example.com"`},
		{"quorum above the approvers", "quorum: 2", "quorum: 3", "quorum 3 must be between 1 and the 2 approvers"},
		{"timeout past a year", "timeout: 48h", "timeout: 9000h", "timeout 9000h0m0s must be between 1m and 8760h"},
		{"heartbeat past the timeout", "heartbeat: 1h", "heartbeat: 72h", "heartbeat 72h0m0s is longer than the timeout 48h0m0s"},
		{"negative soak", "soak: 1h", "soak: -1h", "must not be negative"},
		{"bad ECS name", "cluster: shop", "cluster: shop/eu", `"shop/eu" is not an ECS cluster name`},
		{"bad SSM name", "deploy: {ecs: {cluster: shop, service: checkout, container: app}}", "deploy: {ssm: {parameter: 'a b'}}", `"a b" is not an SSM parameter name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			give := strings.Replace(promoted, tt.old, tt.new, 1)
			if give == promoted {
				t.Fatalf("edit %q changed nothing", tt.old)
			}
			_, err := policy.Parse([]byte(give), "p.yaml")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse(%s) error = %v, want %q", tt.name, err, tt.want)
			}
			if err != nil && !strings.Contains(err.Error(), "p.yaml:") {
				t.Errorf("error %q has no line", err)
			}
		})
	}
}
