package stacks

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/highwayhq/highway/shared/github"
	"github.com/highwayhq/highway/shared/localaws"
)

func TestGitHubWebhookIsAPublicURLWithReservedConcurrency(t *testing.T) {
	// GIVEN the example policy, whose storefront app is built from GitHub
	p := examplePolicy(t)
	if !p.UsesGitHub() {
		t.Fatal("the example policy has no app built from GitHub")
	}

	// WHEN the hub is synthesized
	h := synth(t, p)
	tpl := templateOf(t, h.Hub.Stack)
	webhook := functionID(t, tpl, p.Hub, FunctionWebhook)
	fn := tpl.Resources[webhook]

	// THEN the webhook function, which anyone can reach through its URL,
	// runs at most webhookConcurrency at a time, within GitHub's 10 seconds
	checks := []check{
		{"reserved concurrency", fn.Properties["ReservedConcurrentExecutions"], float64(webhookConcurrency)},
		{"timeout", fn.Properties["Timeout"], float64(webhookTimeoutSeconds)},
	}
	// AND its URL takes no IAM auth (the signature is the auth), anyone may
	// call it, and it is an output, with the secret's ARN
	var url string
	for id, u := range tpl.ofType("AWS::Lambda::Url") {
		if refTo(u.Properties["TargetFunctionArn"]) == webhook {
			url = id
			checks = append(checks, check{"URL auth", u.Properties["AuthType"], "NONE"})
		}
	}
	if url == "" {
		t.Fatal("the webhook function has no URL")
	}
	public := false
	for _, perm := range tpl.ofType("AWS::Lambda::Permission") {
		if refTo(perm.Properties["FunctionName"]) == webhook && perm.Properties["Principal"] == "*" &&
			perm.Properties["Action"] == "lambda:InvokeFunctionUrl" && perm.Properties["FunctionUrlAuthType"] == "NONE" {
			public = true
		}
	}
	checks = append(checks, check{"public", public, true})
	var secretID string
	for id, s := range tpl.ofType("AWS::SecretsManager::Secret") {
		if s.Properties["Name"] == WebhookSecretName(p.Hub) {
			secretID = id
		}
	}
	if secretID == "" {
		t.Fatalf("no secret named %s", WebhookSecretName(p.Hub))
	}
	outputs := map[string]any{}
	for _, o := range tpl.Outputs {
		outputs[flat(o.Value)] = o.Description
	}
	urlRef := flat(map[string]any{"Fn::GetAtt": []any{url, "FunctionUrl"}})
	secretRef := flat(map[string]any{"Ref": secretID})
	checks = append(checks,
		check{"URL output", outputs[urlRef] != nil, true},
		check{"secret output", outputs[secretRef] != nil, true},
		check{"secret in the environment", flat(functionEnv(t, tpl, p.Hub, FunctionWebhook)[EnvWebhookSecret]), secretRef},
	)
	// AND the secret is generated into {"current": ...} with at least 256
	// random bits, and its missing rotation is suppressed with why
	secret := tpl.Resources[secretID]
	gen := secret.Properties["GenerateSecretString"]
	charset := 94.0
	if path(gen, "ExcludePunctuation") == true {
		charset = 62
	}
	length, _ := path(gen, "PasswordLength").(float64)
	checks = append(checks,
		check{"secret template", path(gen, "SecretStringTemplate"), "{}"},
		check{"secret key", path(gen, "GenerateStringKey"), "current"},
		check{"at least 256 bits", length*math.Log2(charset) >= 256, true},
	)
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("webhook %s = %v, want %v", c.name, c.got, c.want)
		}
	}
	var reasons []string
	for _, s := range list(path(secret.Metadata, "cdk_nag", "rules_to_suppress")) {
		if path(s, "id") == "AwsSolutions-SMG4" {
			reasons = append(reasons, flat(path(s, "reason")))
		}
	}
	if len(reasons) != 1 || !strings.Contains(reasons[0], "previous") || !strings.Contains(reasons[0], "GitHub") {
		t.Errorf("rotation suppression reasons = %q, want one naming the manual rotation through previous", reasons)
	}
}

func TestWebhookRoleReachesOnlyWhatRecordingNeeds(t *testing.T) {
	// GIVEN the example policy, which has approvals and a GitHub app,
	// synthesized
	p := examplePolicy(t)
	h := synth(t, p)
	tpl := templateOf(t, h.Hub.Stack)
	in := func(service, resource string) string {
		return "arn:aws:" + service + ":" + p.Hub.Region + ":" + p.Hub.Account + ":" + resource
	}
	table, bus := in("dynamodb", "table/"+TableName(p.Hub)), in("events", "event-bus/"+BusName(p.Hub))
	keys := func(k ...string) map[string]any { return map[string]any{"dynamodb:LeadingKeys": k} }
	event := func(source string, detailTypes ...string) map[string]any {
		return map[string]any{"events:source": []string{source}, "events:detail-type": detailTypes}
	}
	const (
		sha      = "7d1f0c4a8e2b6d9f1c3a5e7b0d2f4a6c8e1b3d5f"
		delivery = "github-delivery:703e4750-c074-4286-a44a-d48a91dccbd6"
	)

	// WHEN IAM decides the calls recording a push makes, and others, by the
	// webhook function's role
	tests := []struct {
		action, resource string
		context          map[string]any
		want             bool
	}{
		// the ledger: commits, and the claims of deliveries
		{"dynamodb:Query", table, keys("commit#" + sha), true},
		{"dynamodb:PutItem", table, keys("commit#" + sha), true},
		{"dynamodb:PutItem", table, keys("lock#" + delivery), true},
		{"dynamodb:PutItem", table, keys("once#" + delivery), true},
		{"dynamodb:Query", table, keys("lock#" + delivery), true},
		{"dynamodb:PutItem", table, keys("approvalRequest#apr-1"), false},
		{"dynamodb:PutItem", table, keys("once#approval-decision:apr-1:ana@example.com"), false},
		{"dynamodb:PutItem", table, keys("lock#checkout#prod"), false},
		{"dynamodb:Query", table + "/index/byDigest", keys("digest#sha256:5f70bf18"), false},
		{"dynamodb:GetItem", table, keys("commit#" + sha), false},
		{"dynamodb:Scan", table, nil, false},
		{"dynamodb:DeleteItem", table, keys("commit#" + sha), false},
		{"dynamodb:UpdateItem", table, keys("commit#" + sha), false},
		// the bus: Commit Recorded alone
		{"events:PutEvents", bus, event("highway", github.DetailTypes()...), true},
		{"events:PutEvents", bus, event("highway", "Gate Decided"), false},
		{"events:PutEvents", bus, event("aws.codecommit", github.DetailTypes()...), false},
		// its own secret, not the approval links' key
		{"secretsmanager:GetSecretValue", in("secretsmanager", "secret:"+WebhookSecretName(p.Hub)+"-AbCdEf"), nil, true},
		{"secretsmanager:GetSecretValue", in("secretsmanager", "secret:"+ApprovalSecretName(p.Hub)+"-AbCdEf"), nil, false},
		// and nothing of the apps' accounts
		{"sts:AssumeRole", "arn:aws:iam::222222222222:role/" + AccessRoleName(p.Hub, accessCommits), nil, false},
	}
	var requests []localaws.IAMRequest
	var want []bool
	for _, tt := range tests {
		requests = append(requests, roleRequest(t, h, tpl, FunctionWebhook, tt.action, tt.resource, tt.context))
		want = append(want, tt.want)
	}

	// THEN it may record commits and the claims of deliveries, announce
	// commits and read its secret, and nothing else
	simulate(t, requests, want)
}

func TestNoWebhookWithoutGitHubApps(t *testing.T) {
	// GIVEN a policy whose apps are all in CodeCommit
	p := parsePolicy(t, gatingPolicyYAML)

	// WHEN the hub is synthesized
	tpl := templateOf(t, synth(t, p).Hub.Stack)

	// THEN no function, URL or secret is there for GitHub
	for _, fn := range tpl.ofType("AWS::Lambda::Function") {
		if flat(fn.Properties["FunctionName"]) == FunctionName(p.Hub, FunctionWebhook) {
			t.Error("a webhook function without an app built from GitHub")
		}
	}
	for _, s := range tpl.ofType("AWS::SecretsManager::Secret") {
		if s.Properties["Name"] == WebhookSecretName(p.Hub) {
			t.Error("a webhook secret without an app built from GitHub")
		}
	}
}
