package stacks

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/highwayhq/highway/shared/policy"
)

func TestWholeAppHasNoUnsuppressedNagErrors(t *testing.T) {
	tests := []struct {
		name string
		give func(t *testing.T) *policy.Policy
	}{
		{name: "example policy", give: examplePolicy},
		{name: "hub and spoke deliveries", give: func(t *testing.T) *policy.Policy { return parsePolicy(t, gatingPolicyYAML) }},
		{name: "promotion to hub and spoke accounts", give: func(t *testing.T) *policy.Policy { return parsePolicy(t, promotionPolicyYAML) }},
		{name: "drift with prefixes", give: func(t *testing.T) *policy.Policy { return parsePolicy(t, driftPolicyYAML) }},
		{name: "drift without prefixes", give: func(t *testing.T) *policy.Policy { return parsePolicy(t, anyStackDriftPolicyYAML) }},
		{name: "alarm response", give: func(t *testing.T) *policy.Policy { return parsePolicy(t, alarmPolicyYAML) }},
		{name: "App Runner, EKS and GitOps", give: func(t *testing.T) *policy.Policy { return parsePolicy(t, targetsPolicyYAML) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// GIVEN a policy
			h := synth(t, tt.give(t))

			// WHEN the app is synthesized with the cdk-nag packs
			errs := nagErrors(t, *awscdk.Stage_Of(h.Hub.Stack).Synth(nil).Directory())

			// THEN no finding is left unsuppressed
			for _, e := range errs {
				t.Errorf("cdk-nag: %s", e)
			}
		})
	}
}

func TestNagChecksEveryStack(t *testing.T) {
	// GIVEN the example app, with a queue in every stack that neither encrypts
	// nor requires TLS
	h := synthFresh(t, examplePolicy(t))
	for _, stack := range stacksOf(h) {
		awssqs.NewQueue(stack, jsii.String("Careless"), &awssqs.QueueProps{
			Encryption: awssqs.QueueEncryption_UNENCRYPTED,
		})
	}

	// WHEN the app is synthesized
	errs := nagErrors(t, *awscdk.Stage_Of(h.Hub.Stack).Synth(nil).Directory())

	// THEN the cloud assembly records, as cdk synth reports them, both
	// packs' errors on the queue of every stack
	for _, stack := range stacksOf(h) {
		where := "/" + *stack.StackName() + "/Careless/Resource: "
		for _, want := range []string{"AwsSolutions-SQS4", "Serverless-SQSRedrivePolicy"} {
			if !slices.ContainsFunc(errs, func(e string) bool { return strings.HasPrefix(e, where) && strings.Contains(e, want) }) {
				t.Errorf("%s: nag errors %v, want %s on the careless queue", *stack.StackName(), errs, want)
			}
		}
	}
}

func TestEveryRouteNeedsACapability(t *testing.T) {
	// GIVEN a hub without capabilities
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})

	// WHEN it is built
	_, err := NewHub(app, HubProps{Policy: examplePolicy(t), BuildDir: buildDir(t)})

	// THEN it fails, since the routes' events would reach no function
	if err == nil || !strings.Contains(err.Error(), "no capability") {
		t.Errorf("NewHub() = %v, want an error about a route without capability", err)
	}
}

func TestOnlyForcedWildcards(t *testing.T) {
	tests := []struct {
		name string
		give func(t *testing.T) *policy.Policy
	}{
		{name: "example policy", give: examplePolicy},
		{name: "hub and spoke deliveries", give: func(t *testing.T) *policy.Policy { return parsePolicy(t, gatingPolicyYAML) }},
		{name: "promotion to hub and spoke accounts", give: func(t *testing.T) *policy.Policy { return parsePolicy(t, promotionPolicyYAML) }},
		{name: "drift with prefixes", give: func(t *testing.T) *policy.Policy { return parsePolicy(t, driftPolicyYAML) }},
		{name: "drift without prefixes", give: func(t *testing.T) *policy.Policy { return parsePolicy(t, anyStackDriftPolicyYAML) }},
		{name: "alarm response", give: func(t *testing.T) *policy.Policy { return parsePolicy(t, alarmPolicyYAML) }},
		{name: "App Runner, EKS and GitOps", give: func(t *testing.T) *policy.Policy { return parsePolicy(t, targetsPolicyYAML) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// GIVEN a policy
			h := synth(t, tt.give(t))

			for _, stack := range stacksOf(h) {
				// WHEN the stack is synthesized
				tpl := templateOf(t, stack)

				// THEN no IAM statement grants a wildcard action; the only grants
				// on every resource are those AWS forces (X-Ray's, log delivery,
				// the answers to pipeline jobs and approval tasks, ECS task
				// definitions, listing stacks and reading drift detections,
				// listing App Runner services),
				// each in a policy whose one suppression of "*"
				// gives its reason; and every other wildcard resource is
				// suppressed by name
				policies := tpl.ofType("AWS::IAM::Policy")
				for id, pol := range tpl.ofType("AWS::IAM::ManagedPolicy") {
					policies[id] = pol
				}
				for id, pol := range policies {
					for _, st := range list(path(pol.Properties, "PolicyDocument", "Statement")) {
						actions := strs(path(st, "Action"))
						for _, a := range actions {
							if strings.Contains(a, "*") {
								t.Errorf("%s: policy %s grants %s", *stack.StackName(), id, a)
							}
						}
						for _, resource := range list(path(st, "Resource")) {
							r := nagName(resource)
							if !strings.Contains(r, "*") {
								continue
							}
							reasons := suppressionReasons(pol, "Resource::"+r)
							if r != "*" {
								if len(reasons) == 0 {
									t.Errorf("%s: policy %s grants %v on %s without a suppression", *stack.StackName(), id, actions, r)
								}
								continue
							}
							for _, a := range actions {
								forced, ok := forcedWildcards[strings.TrimSuffix(strings.TrimSuffix(a, "SuccessResult"), "FailureResult")]
								if !ok {
									t.Errorf("%s: policy %s grants %s on *", *stack.StackName(), id, a)
									continue
								}
								if len(reasons) != 1 || !strings.Contains(reasons[0], forced) {
									t.Errorf("%s: policy %s suppresses %s on * with %q, want one reason naming %s", *stack.StackName(), id, a, reasons, forced)
								}
							}
						}
					}
				}
			}
		})
	}
}

// forcedWildcards are the actions AWS accepts on no resource narrower than "*"
// (the two answers to a pipeline job share one entry), with what the reason of
// their suppression must name.
var forcedWildcards = map[string]string{
	"xray:PutTraceSegments":                            "X-Ray",
	"xray:PutTelemetryRecords":                         "X-Ray",
	"xray:GetSamplingRules":                            "X-Ray",
	"xray:GetSamplingTargets":                          "X-Ray",
	"codepipeline:PutJob":                              "PutJobSuccessResult and PutJobFailureResult",
	"codepipeline:GetJobDetails":                       "GetJobDetails",
	"states:SendTaskSuccess":                           "task token has no ARN",
	"states:SendTaskFailure":                           "task token has no ARN",
	"ecs:DescribeTaskDefinition":                       "DescribeTaskDefinition",
	"ecs:RegisterTaskDefinition":                       "DescribeTaskDefinition and RegisterTaskDefinition",
	"cloudformation:DescribeStacks":                    "DescribeStacks without a stack name",
	"cloudformation:DescribeStackDriftDetectionStatus": "drift detection id has no ARN",
	"apprunner:ListServices":                           "ListServices",
	"logs:CreateLogDelivery":                           "log delivery",
	"logs:GetLogDelivery":                              "log delivery",
	"logs:UpdateLogDelivery":                           "log delivery",
	"logs:DeleteLogDelivery":                           "log delivery",
	"logs:ListLogDeliveries":                           "log delivery",
	"logs:PutResourcePolicy":                           "log delivery",
	"logs:DescribeResourcePolicies":                    "log delivery",
	"logs:DescribeLogGroups":                           "log delivery",
}

// suppressionReasons returns the reasons of the cdk-nag AwsSolutions-IAM5
// suppressions of r that apply to finding.
func suppressionReasons(r cfnResource, finding string) []string {
	var out []string
	for _, s := range list(path(r.Metadata, "cdk_nag", "rules_to_suppress")) {
		if path(s, "id") == "AwsSolutions-IAM5" && slices.Contains(strs(path(s, "applies_to")), finding) {
			out = append(out, flat(path(s, "reason")))
		}
	}
	return out
}

// nagName renders a resource as cdk-nag names it in a finding: references as
// <id> or <id.attribute>, joins joined.
func nagName(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case map[string]any:
		if join, ok := v["Fn::Join"].([]any); ok && len(join) == 2 {
			sep, _ := join[0].(string)
			var parts []string
			for _, p := range list(join[1]) {
				parts = append(parts, nagName(p))
			}
			return strings.Join(parts, sep)
		}
		if id, ok := v["Ref"].(string); ok {
			return "<" + id + ">"
		}
		if att := strs(v["Fn::GetAtt"]); len(att) == 2 {
			return "<" + att[0] + "." + att[1] + ">"
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// synthValidated synthesizes app and returns the panic it raised, if any.
func synthValidated(app awscdk.App) (failure any) {
	defer func() { failure = recover() }()
	app.Synth(nil)
	return nil
}

func TestTemplatesPassCloudFormationValidation(t *testing.T) {
	// GIVEN the example app, which the tests share, synthesized as cdk synth
	// does with cdk.json's context and CDK's built-in CloudFormation
	// validation; and a control app with the same context and a queue that
	// breaks the SQS schema
	ctx := cdkJSONContext(t)
	if ctx["@aws-cdk/core:validateAgainstDefaultRules"] != true {
		t.Fatalf("cdk.json context = %v, want @aws-cdk/core:validateAgainstDefaultRules: true, so that cdk synth fails on a template CloudFormation would refuse", ctx)
	}
	h := synth(t, examplePolicy(t))
	control := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir()), Context: &ctx})
	awscdk.NewCfnResource(awscdk.NewStack(control, jsii.String("Control"), nil), jsii.String("Queue"), &awscdk.CfnResourceProps{
		Type:       jsii.String("AWS::SQS::Queue"),
		Properties: &map[string]any{"VisibilityTimeout": "an hour"},
	})

	// WHEN both are synthesized
	dir := *awscdk.Stage_Of(h.Hub.Stack).Synth(nil).Directory()
	controlFailure := synthValidated(control)

	// THEN the control's synthesis fails on its queue, so the validation runs
	// and fails synthesis; and the example app's validation report, which
	// only a validated synthesis writes, lists no violation
	if controlFailure == nil || !strings.Contains(fmt.Sprint(controlFailure), "ValidationFailed") {
		t.Fatalf("control app synthesized with %v, want ValidationFailed for a VisibilityTimeout that is not an integer", controlFailure)
	}
	var report struct {
		PluginReports []struct {
			PluginName string
			Violations []struct{ RuleName, Description string }
		}
	}
	readJSON(t, filepath.Join(dir, "validation-report.json"), &report)
	for _, r := range report.PluginReports {
		for _, v := range r.Violations {
			t.Errorf("%s: %s %s", r.PluginName, v.RuleName, v.Description)
		}
	}
}
