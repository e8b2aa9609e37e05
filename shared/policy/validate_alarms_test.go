package policy_test

import (
	"strings"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/policy"
)

const alarming = `version: 1
hub: {account: "111111111111", region: eu-west-1}
apps:
  - name: checkout
    repository: checkout-service
    environments:
      - {name: dev, account: "222222222222", region: eu-west-1, deploy: {ssm: {parameter: /checkout/dev/image}}}
      - {name: prod, account: "444444444444", region: eu-west-1, deploy: {ecs: {cluster: shop, service: checkout, container: app}}}
alarms:
  maxActionsPerHour: 4
  cooldown: 20m
  breaker: {failures: 2, window: 30m}
  incidentWindow: 3h
  runbooks:
    - name: checkout-prod-errors
      app: checkout
      env: prod
      match:
        names: [checkout-prod-*]
        tags: {team: payments}
        metric: {namespace: AWS/ApplicationELB, name: HTTPCode_Target_5XX_Count, dimensions: {LoadBalancer: app/checkout-prod/*}}
      actions:
        - rollback: {}
        - ecs-scale: {step: 2, min: 2, max: 10}
        - ssm-automation: {document: AWS-RestartEC2Instance, parameters: {InstanceId: ["{{.Dimensions.InstanceId}}"]}}
        - notify: {}
    - name: checkout-dev-latency
      app: checkout
      env: dev
      dryRun: true
      match: {names: [checkout-dev-latency]}
      actions:
        - lambda-alias-rollback: {function: checkout-api, alias: live}
`

func TestParseAlarms(t *testing.T) {
	p, err := policy.Parse([]byte(alarming), "p.yaml")
	if err != nil {
		t.Fatalf("Parse(alarming) error: %v", err)
	}
	a := p.Alarms
	if a.MaxActionsPerHour != 4 || a.Cooldown != 20*time.Minute || a.Breaker.Failures != 2 || a.IncidentWindow != 3*time.Hour {
		t.Errorf("guards = %+v", a)
	}
	rb := a.Runbooks[0]
	if rb.Match.Metric.Dimensions["LoadBalancer"] != "app/checkout-prod/*" || rb.Actions[1].ECSScale.Max != 10 ||
		rb.Actions[2].SSMAutomation.Parameters["InstanceId"][0] != "{{.Dimensions.InstanceId}}" || rb.Actions[3].Notify == nil {
		t.Errorf("runbook = %+v", rb)
	}
	// The policy travels to functions as YAML: it must read back the same.
	enc, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := policy.Parse(enc, "encoded")
	if err != nil || back.Alarms.Runbooks[1].Actions[0].LambdaAliasRollback.Alias != "live" || !back.Alarms.Runbooks[1].DryRun {
		t.Errorf("encoded policy read back = %+v, %v", back.Alarms, err)
	}

	tests := []struct{ name, old, new, want string }{
		{"unknown app", "app: checkout\n      env: prod", "app: cart\n      env: prod", `no app "cart" in the policy`},
		{"unknown env", "env: prod", "env: qa", `app "checkout" has no environment "qa"`},
		{"matches everything", "match: {names: [checkout-dev-latency]}", "match: {}", "match alarms by names, tags or metric"},
		{"bad pattern", "names: [checkout-prod-*]", "names: ['checkout-[prod']", "is not an alarm name pattern"},
		{"two actions in one", "- rollback: {}", "- {rollback: {}, notify: {}}", "an action is exactly one of"},
		{"no action", "- rollback: {}", "- {}", "an action is exactly one of"},
		{"unknown action", "- rollback: {}", "- reboot: {}", `unknown key "reboot"`},
		{"scale bounds", "min: 2, max: 10", "min: 12, max: 10", "want 0 ≤ min ≤ max"},
		{"scale by nothing", "step: 2", "step: 0", "step must add or remove tasks"},
		{"ecs action where ECS is not deployed", "- lambda-alias-rollback: {function: checkout-api, alias: live}", "- ecs-redeploy: {}", `environment "dev" is not deployed to ECS`},
		{"lambda rollback without target", "{function: checkout-api, alias: live}", "{}", `environment "dev" is not deployed through a Lambda alias`},
		{"bad template", `"{{.Dimensions.InstanceId}}"`, `"{{.Dimensions.InstanceId"`, "is not a template"},
		{"bad document", "document: AWS-RestartEC2Instance", "document: 'no spaces allowed'", "is not an SSM document name"},
		{"duplicate runbook", "name: checkout-dev-latency", "name: checkout-prod-errors", `duplicate runbook "checkout-prod-errors"`},
		{"runaway rate", "maxActionsPerHour: 4", "maxActionsPerHour: 600", "must be between 1 and 60"},
		{"negative cooldown", "cooldown: 20m", "cooldown: -5m", "must be between 0 and 24h"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			give := strings.Replace(alarming, tt.old, tt.new, 1)
			if give == alarming {
				t.Fatalf("edit %q changed nothing", tt.old)
			}
			if _, err := policy.Parse([]byte(give), "p.yaml"); err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "p.yaml:") {
				t.Errorf("Parse(%s) error = %v, want %q with its line", tt.name, err, tt.want)
			}
		})
	}
}

// platforms runs checkout on App Runner in dev, on EKS in staging and through
// GitOps in prod; each runbook's actions default to the environment's target.
const platforms = `version: 1
hub: {account: "111111111111", region: eu-west-1}
apps:
  - name: checkout
    repository: checkout-service
    environments:
      - {name: dev, account: "222222222222", region: eu-west-1, deploy: {apprunner: {service: checkout-web}}}
      - {name: staging, account: "333333333333", region: eu-west-1, deploy: {eks: {cluster: shop, namespace: checkout, deployment: web, container: app}}}
      - name: prod
        account: "444444444444"
        region: eu-west-1
        deploy:
          gitops:
            repository: platform-config
            branch: main
            file: apps/checkout/prod/kustomization.yaml
            watch: {cluster: shop-prod, namespace: checkout, deployment: web, container: app}
alarms:
  runbooks:
    - name: checkout-dev-errors
      app: checkout
      env: dev
      match: {names: [checkout-dev-*]}
      actions:
        - apprunner-redeploy: {}
        - apprunner-pause: {}
        - apprunner-resume: {service: 'arn:aws:apprunner:eu-west-1:222222222222:service/checkout-web/8fe1e10304f84fd2b0df550fe98a71fa'}
    - name: checkout-staging-errors
      app: checkout
      env: staging
      match: {names: [checkout-staging-*]}
      actions:
        - eks-scale: {step: 2, min: 2, max: 10}
        - eks-rollout-restart: {}
    - name: checkout-prod-errors
      app: checkout
      env: prod
      match: {names: [checkout-prod-*]}
      actions:
        - eks-rollout-restart: {}
        - eks-scale: {deployment: worker, step: -1, max: 4}
`

func TestParseAlarmActionsOnAppRunnerAndEKS(t *testing.T) {
	p, err := policy.Parse([]byte(platforms), "p.yaml")
	if err != nil {
		t.Fatalf("Parse(platforms) error: %v", err)
	}
	rbs := p.Alarms.Runbooks
	if rbs[0].Actions[1].AppRunnerPause == nil || rbs[1].Actions[0].EKSScale.Max != 10 ||
		rbs[2].Actions[1].EKSScale.Step != -1 || rbs[2].Actions[1].EKSScale.Deployment != "worker" {
		t.Errorf("runbooks = %+v", rbs)
	}

	// Each edit is checked for its message and, where it says so, the line
	// and column of the value at fault.
	tests := []struct{ name, old, new, want string }{
		{"eks-scale where the environment is not on EKS", "        - apprunner-pause: {}", "        - eks-scale: {step: 1, max: 3}",
			`p.yaml:26:22: alarms.runbooks[0].actions[1].eks-scale: name the cluster, namespace and deployment: environment "dev" is not deployed to EKS`},
		{"eks-rollout-restart where the environment is not on EKS", "        - apprunner-redeploy: {}", "        - eks-rollout-restart: {deployment: web}",
			`p.yaml:25:32: alarms.runbooks[0].actions[0].eks-rollout-restart: name the cluster, namespace and deployment: environment "dev" is not deployed to EKS`},
		{"eks-scale min above max", "{step: 2, min: 2, max: 10}", "{step: 2, min: 12, max: 10}",
			`p.yaml:33:46: alarms.runbooks[1].actions[0].eks-scale.max: bounds min 12, max 10: want 0 ≤ min ≤ max, 1 ≤ max ≤ 1000`},
		{"eks-scale max beyond 1000", "{step: 2, min: 2, max: 10}", "{step: 2, min: 2, max: 5000}",
			"alarms.runbooks[1].actions[0].eks-scale.max: bounds min 2, max 5000"},
		{"eks-scale by nothing", "{step: 2, min: 2, max: 10}", "{step: 0, min: 2, max: 10}",
			`p.yaml:33:29: alarms.runbooks[1].actions[0].eks-scale.step: step must add or remove replicas`},
		{"eks-scale without max", "{step: 2, min: 2, max: 10}", "{step: 2, min: 2}", `missing required key "max"`},
		{"eks namespace not a DNS label", "{deployment: worker, step: -1, max: 4}", "{namespace: Checkout_NS, step: -1, max: 4}",
			`alarms.runbooks[2].actions[1].eks-scale.namespace: "Checkout_NS" is not a Kubernetes namespace`},
		{"apprunner-pause where the environment is not on App Runner", "        - eks-scale: {step: 2, min: 2, max: 10}", "        - apprunner-pause: {}",
			`p.yaml:33:28: alarms.runbooks[1].actions[0].apprunner-pause: name the service: environment "staging" is not deployed to App Runner`},
		{"apprunner-resume of a service in another account", "service/checkout-web/8fe1e10304f84fd2b0df550fe98a71fa'}", "service/checkout-web/8fe1e10304f84fd2b0df550fe98a71fa'}\n        - apprunner-redeploy: {service: 'arn:aws:apprunner:eu-west-1:555555555555:service/checkout-web/8fe1e10304f84fd2b0df550fe98a71fa'}",
			"alarms.runbooks[0].actions[3].apprunner-redeploy.service: service \"arn:aws:apprunner:eu-west-1:555555555555:service/checkout-web/8fe1e10304f84fd2b0df550fe98a71fa\" is in 555555555555 eu-west-1, not in the environment's account 222222222222"},
		{"apprunner service not a name", "- apprunner-pause: {}", "- apprunner-pause: {service: 'a b'}", `"a b" is not an App Runner service name`},
		{"two platform actions in one", "        - apprunner-pause: {}", "        - {apprunner-pause: {}, apprunner-resume: {}}", "an action is exactly one of"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			give := strings.Replace(platforms, tt.old, tt.new, 1)
			if give == platforms {
				t.Fatalf("edit %q changed nothing", tt.old)
			}
			_, err := policy.Parse([]byte(give), "p.yaml")
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "p.yaml:") {
				t.Errorf("Parse(%s) error = %v, want %q with its line", tt.name, err, tt.want)
			}
		})
	}
}
