package policy_test

import (
	"fmt"
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

const (
	ecsDeploy = "deploy: {ecs: {cluster: shop, service: checkout, container: app}}"
	watch     = "{cluster: shop, namespace: checkout, deployment: web, container: app}"
)

func TestParsePromotionErrors(t *testing.T) {
	if _, err := policy.Parse([]byte(promoted), "p.yaml"); err != nil {
		t.Fatalf("Parse(promoted) error: %v", err)
	}
	tests := []struct {
		name, old, new, want string
	}{
		{"two deploy kinds", "deploy: {ecs:", "deploy: {ssm: {parameter: /x}, ecs:", "deploy must say exactly one of ssm, pipeline, lambda, ecs, apprunner, eks or gitops (it says 2)"},
		{"no deploy kind", "deploy: {ecs: {cluster: shop, service: checkout, container: app}}", "deploy: {}", "(it says 0)"},
		{"approver not an address", "[ana@example.com, lee@example.com]", "[Ana <ana@example.com>, lee@example.com]", `approver "Ana <ana@example.com>" is not a bare e-mail address`},
		{"duplicate approver", "[ana@example.com, lee@example.com]", "[ana@example.com, ana@example.com]", `duplicate approver "ana@example.com"`},
		{"quorum above the approvers", "quorum: 2", "quorum: 3", "quorum 3 must be between 1 and the 2 approvers"},
		{"timeout past a year", "timeout: 48h", "timeout: 9000h", "timeout 9000h0m0s must be between 1m and 8760h"},
		{"heartbeat past the timeout", "heartbeat: 1h", "heartbeat: 72h", "heartbeat 72h0m0s is longer than the timeout 48h0m0s"},
		{"negative soak", "soak: 1h", "soak: -1h", "must not be negative"},
		{"bad ECS name", "cluster: shop", "cluster: shop/eu", `"shop/eu" is not an ECS cluster name`},
		{"unknown target key", "deploy: {ecs:", "deploy: {kubernetes: {}, ecs:", `unknown key "kubernetes"`},
		{"App Runner service by name", ecsDeploy, "deploy: {apprunner: {service: checkout-web}}", ""},
		{"App Runner service by ARN", ecsDeploy, "deploy: {apprunner: {service: 'arn:aws:apprunner:eu-west-1:444444444444:service/checkout-web/8fe1e10304f84fd2b0df550fe98a71fa'}}", ""},
		{"App Runner service in another account", ecsDeploy, "deploy: {apprunner: {service: 'arn:aws:apprunner:eu-west-1:555555555555:service/checkout-web/8fe1e10304f84fd2b0df550fe98a71fa'}}", "not in the environment's account 444444444444"},
		{"App Runner service ARN without its id", ecsDeploy, "deploy: {apprunner: {service: 'arn:aws:apprunner:eu-west-1:444444444444:service/checkout-web'}}", "is not an App Runner service ARN"},
		{"App Runner without service", ecsDeploy, "deploy: {apprunner: {}}", `missing required key "service"`},
		{"EKS", ecsDeploy, "deploy: {eks: {cluster: shop, namespace: checkout, deployment: web, container: app}}", ""},
		{"EKS cluster without namespace", ecsDeploy, "deploy: {eks: {cluster: shop, deployment: web, container: app}}", `missing required key "namespace"`},
		{"EKS namespace not a label", ecsDeploy, "deploy: {eks: {cluster: shop, namespace: Checkout_NS, deployment: web, container: app}}", `"Checkout_NS" is not a Kubernetes namespace`},
		{"EKS container not a label", ecsDeploy, "deploy: {eks: {cluster: shop, namespace: checkout, deployment: web, container: app.main}}", `"app.main" is not a Kubernetes container name`},
		{"GitOps kustomization", ecsDeploy, "deploy: {gitops: {repository: platform-config, branch: main, file: apps/checkout/prod/kustomization.yaml, watch: " + watch + "}}", ""},
		{"GitOps values key", ecsDeploy, "deploy: {gitops: {repository: platform-config, branch: main, file: charts/checkout/values-prod.yaml, key: image.digest, timeout: 45m, watch: " + watch + "}}", ""},
		{"GitOps values file without key", ecsDeploy, "deploy: {gitops: {repository: platform-config, branch: main, file: values.yaml, watch: " + watch + "}}", "a Helm values file needs the key"},
		{"GitOps values key a tag", ecsDeploy, "deploy: {gitops: {repository: platform-config, branch: main, file: values.yaml, key: image.tag, watch: " + watch + "}}", `"image.tag" is a tag: Highway deploys by digest`},
		{"GitOps kustomization key with a tag", ecsDeploy, "deploy: {gitops: {repository: platform-config, branch: main, file: kustomization.yaml, key: 'checkout:v1.2', watch: " + watch + "}}", "names a tag or digest"},
		{"GitOps file outside the repository", ecsDeploy, "deploy: {gitops: {repository: platform-config, branch: main, file: ../x/kustomization.yaml, watch: " + watch + "}}", "is not a path inside the repository"},
		{"GitOps branch", ecsDeploy, "deploy: {gitops: {repository: platform-config, branch: 'main..x', file: kustomization.yaml, watch: " + watch + "}}", "is not a branch name"},
		{"GitOps without watch", ecsDeploy, "deploy: {gitops: {repository: platform-config, branch: main, file: kustomization.yaml}}", `missing required key "watch"`},
		{"GitOps timeout past the lock", ecsDeploy, "deploy: {gitops: {repository: platform-config, branch: main, file: kustomization.yaml, timeout: 3h, watch: " + watch + "}}", "must be between 1m and 1h50m"},
		{"bad SSM name", "deploy: {ecs: {cluster: shop, service: checkout, container: app}}", "deploy: {ssm: {parameter: 'a b'}}", `"a b" is not an SSM parameter name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			give := strings.Replace(promoted, tt.old, tt.new, 1)
			if give == promoted {
				t.Fatalf("edit %q changed nothing", tt.old)
			}
			_, err := policy.Parse([]byte(give), "p.yaml")
			if tt.want == "" {
				if err != nil {
					t.Errorf("Parse(%s) error: %v", tt.name, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse(%s) error = %v, want %q", tt.name, err, tt.want)
			}
			if err != nil && !strings.Contains(err.Error(), "p.yaml:") {
				t.Errorf("error %q has no line", err)
			}
		})
	}
}

// Two environments deploying to one App Runner service (by name and by
// ARN), one Deployment (directly and as a GitOps watch) or one GitOps image
// entry are refused: promotion into the first would change the second
// without its approval and soak.
func TestParseRefusesATargetTwoEnvironmentsShare(t *testing.T) {
	const twice = `version: 1
hub: {account: "111111111111", region: eu-west-1}
apps:
  - name: checkout
    repository: checkout-service
    environments:
      - name: staging
        account: "444444444444"
        region: eu-west-1
        deploy: {%s}
      - name: prod
        account: "444444444444"
        region: eu-west-1
        approval: {approvers: [ana@example.com]}
        deploy: {%s}
`
	const arn = "arn:aws:apprunner:eu-west-1:444444444444:service/checkout-web/8fe1e10304f84fd2b0df550fe98a71fa"
	tests := []struct{ name, staging, prod, want string }{
		{"one App Runner service", "apprunner: {service: checkout-web}", "apprunner: {service: '" + arn + "'}",
			"p.yaml:15:39: apps[0].environments[1].deploy.apprunner.service: App Runner service checkout-web in 444444444444/eu-west-1 is deployed to by apps[0].environments[0].deploy.apprunner.service already"},
		{"one Deployment", "eks: " + watch, "gitops: {repository: r, branch: main, file: kustomization.yaml, watch: " + watch + "}",
			"apps[0].environments[1].deploy.gitops.watch: Deployment checkout/web of cluster shop in 444444444444/eu-west-1 is deployed to by apps[0].environments[0].deploy.eks already"},
		{"one GitOps image entry", "gitops: {repository: r, branch: main, file: kustomization.yaml, key: checkout, watch: {cluster: shop, namespace: staging, deployment: web, container: app}}",
			"gitops: {repository: r, branch: main, file: kustomization.yaml, key: checkout, watch: " + watch + "}",
			"image checkout of kustomization.yaml in r@main in 444444444444/eu-west-1 is deployed to by apps[0].environments[0].deploy.gitops.key already"},
		// The default key is the artifact's repository, which prod's
		// explicit key may name: sharing a file takes a key each.
		{"a GitOps file shared with the default key", "gitops: {repository: r, branch: main, file: kustomization.yaml, watch: {cluster: shop, namespace: staging, deployment: web, container: app}}",
			"gitops: {repository: r, branch: main, file: kustomization.yaml, key: 111111111111.dkr.ecr.eu-west-1.amazonaws.com/checkout, watch: " + watch + "}",
			"GitOps file kustomization.yaml in r@main in 444444444444/eu-west-1 is deployed to by apps[0].environments[0].deploy.gitops already: environments sharing a file must each name their own key"},
		{"a GitOps file shared with a key each", "gitops: {repository: r, branch: main, file: kustomization.yaml, key: checkout-staging, watch: {cluster: shop, namespace: staging, deployment: web, container: app}}",
			"gitops: {repository: r, branch: main, file: kustomization.yaml, key: checkout, watch: " + watch + "}", ""},
		{"two services", "apprunner: {service: checkout-staging}", "apprunner: {service: checkout-web}", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := policy.Parse([]byte(fmt.Sprintf(twice, tt.staging, tt.prod)), "p.yaml")
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Parse: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Parse error = %v, want %q", err, tt.want)
			}
		})
	}
}
