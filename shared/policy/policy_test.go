package policy_test

import (
	"reflect"
	"testing"

	"github.com/highwayhq/highway/shared/policy"
)

func env(name, account, region string) policy.Environment {
	return policy.Environment{Name: name, Account: account, Region: region}
}

func TestSpokes(t *testing.T) {
	hub := policy.Hub{Account: "111111111111", Region: "eu-west-1"}
	tests := []struct {
		name string
		give []policy.App
		want []policy.Spoke
	}{
		{
			name: "hub pair left out, same account other region kept",
			give: []policy.App{{Name: "a", Environments: []policy.Environment{
				env("dev", "111111111111", "eu-west-1"),
				env("prod", "111111111111", "us-east-1"),
			}}},
			want: []policy.Spoke{{Account: "111111111111", Region: "us-east-1"}},
		},
		{
			name: "pairs shared by apps appear once, sorted by account then region",
			give: []policy.App{
				{Name: "a", Environments: []policy.Environment{
					env("dev", "333333333333", "eu-west-1"),
					env("prod", "222222222222", "us-east-1"),
				}},
				{Name: "b", Environments: []policy.Environment{
					env("dev", "333333333333", "eu-west-1"),
					env("prod", "222222222222", "eu-west-1"),
				}},
			},
			want: []policy.Spoke{
				{Account: "222222222222", Region: "eu-west-1"},
				{Account: "222222222222", Region: "us-east-1"},
				{Account: "333333333333", Region: "eu-west-1"},
			},
		},
		{
			name: "only the hub",
			give: []policy.App{{Name: "a", Environments: []policy.Environment{env("dev", "111111111111", "eu-west-1")}}},
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &policy.Policy{Hub: hub, Apps: tt.give}
			if got := p.Spokes(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Spokes() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLookups(t *testing.T) {
	p := &policy.Policy{Apps: []policy.App{
		{Name: "checkout", Environments: []policy.Environment{
			env("dev", "222222222222", "eu-west-1"),
			env("staging", "333333333333", "eu-west-1"),
			env("prod", "444444444444", "eu-west-1"),
		}},
		{Name: "empty"},
	}}
	tests := []struct {
		name     string
		app, env string
		wantEnv  string // "" when Environment should not find it
		wantNext string // "" when Next should report none
	}{
		{name: "first", app: "checkout", env: "dev", wantEnv: "dev", wantNext: "staging"},
		{name: "middle", app: "checkout", env: "staging", wantEnv: "staging", wantNext: "prod"},
		{name: "last", app: "checkout", env: "prod", wantEnv: "prod"},
		{name: "unknown environment", app: "checkout", env: "qa"},
		{name: "app without environments", app: "empty", env: "dev"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app, ok := p.App(tt.app)
			if !ok || app.Name != tt.app {
				t.Fatalf("App(%q) = %v, %v; want it found", tt.app, app, ok)
			}
			e, ok := app.Environment(tt.env)
			if got := name(e, ok); got != tt.wantEnv {
				t.Errorf("Environment(%q) = %q, want %q", tt.env, got, tt.wantEnv)
			}
			n, ok := app.Next(tt.env)
			if got := name(n, ok); got != tt.wantNext {
				t.Errorf("Next(%q) = %q, want %q", tt.env, got, tt.wantNext)
			}
		})
	}
	if a, ok := p.App("nope"); ok {
		t.Errorf(`App("nope") = %v, true; want false`, a)
	}
}

func TestAppReturnsElementNotCopy(t *testing.T) {
	p := &policy.Policy{Apps: []policy.App{{Name: "a", Environments: []policy.Environment{env("dev", "1", "r")}}}}
	a, _ := p.App("a")
	e, _ := a.Environment("dev")
	e.Region = "changed"
	if p.Apps[0].Environments[0].Region != "changed" {
		t.Errorf("Environment() returned a copy; want a pointer into the policy")
	}
}

// name is the environment's name when found, else "".
func name(e *policy.Environment, ok bool) string {
	if !ok || e == nil {
		return ""
	}
	return e.Name
}

// A deploy says where it deploys in one line, for each kind.
func TestDeployString(t *testing.T) {
	w := &policy.EKSDeploy{Cluster: "platform-prod", Namespace: "payments", Deployment: "payments", Container: "app"}
	for want, d := range map[string]*policy.Deploy{
		"SSM parameter /checkout/dev/image":                 {SSM: &policy.SSMDeploy{Parameter: "/checkout/dev/image"}},
		"App Runner payments-dev":                           {AppRunner: &policy.AppRunnerDeploy{Service: "payments-dev"}},
		"EKS platform-prod payments/payments container app": {EKS: w},
		"GitOps platform-gitops@main:apps/payments/prod/kustomization.yaml → EKS platform-prod payments/payments container app": {
			GitOps: &policy.GitOpsDeploy{Repository: "platform-gitops", Branch: "main", File: "apps/payments/prod/kustomization.yaml", Watch: w}},
		"ECS shop/checkout container app": {ECS: &policy.ECSDeploy{Cluster: "shop", Service: "checkout", Container: "app"}},
		"not deployed by Highway":         nil,
	} {
		if got := d.String(); got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	}
}
