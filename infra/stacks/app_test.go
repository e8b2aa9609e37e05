package stacks

import (
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"
)

// nagFindings matches the messages of both cdk-nag packs Highway applies.
var nagFindings = assertions.Match_StringLikeRegexp(jsii.String("^(AwsSolutions|Serverless)-"))

func TestWholeAppHasNoUnsuppressedNagErrors(t *testing.T) {
	// GIVEN the example policy
	h := synth(t, examplePolicy(t))

	for _, stack := range stacksOf(h) {
		// WHEN the stack is synthesized with the cdk-nag packs
		errs := assertions.Annotations_FromStack(stack).FindError(jsii.String("*"), nagFindings)

		// THEN no finding is left unsuppressed
		for _, m := range *errs {
			//lint:ignore SA1019 assertions.Annotations returns cxapi.SynthesisMessage; the Go binding has no replacement type
			t.Errorf("%s: %s: %v", *stack.StackName(), *m.Id, m.Entry.Data)
		}
	}
}

func TestNagChecksEveryStack(t *testing.T) {
	// GIVEN the example app, with a queue in every stack that neither encrypts
	// nor requires TLS
	h := synth(t, examplePolicy(t))
	for _, stack := range stacksOf(h) {
		awssqs.NewQueue(stack, jsii.String("Careless"), &awssqs.QueueProps{
			Encryption: awssqs.QueueEncryption_UNENCRYPTED,
		})
	}

	for _, stack := range stacksOf(h) {
		// WHEN the stack is synthesized
		errs := assertions.Annotations_FromStack(stack).FindError(jsii.String("/"+*stack.StackName()+"/Careless/Resource"), nagFindings)

		// THEN both packs report the queue as an error
		var ids []string
		for _, m := range *errs {
			//lint:ignore SA1019 assertions.Annotations returns cxapi.SynthesisMessage; the Go binding has no replacement type
			ids = append(ids, *m.Id)
			//lint:ignore SA1019 assertions.Annotations returns cxapi.SynthesisMessage; the Go binding has no replacement type
			if s, ok := m.Entry.Data.(string); ok {
				ids = append(ids, s)
			}
		}
		for _, want := range []string{"AwsSolutions-SQS4", "Serverless-SQSRedrivePolicy"} {
			if !strings.Contains(strings.Join(ids, " "), want) {
				t.Errorf("%s: nag errors on the careless queue = %v, want %s", *stack.StackName(), ids, want)
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
	// GIVEN the example policy
	h := synth(t, examplePolicy(t))

	for _, stack := range stacksOf(h) {
		// WHEN the stack is synthesized
		tpl := templateOf(t, stack)

		// THEN no IAM statement grants a wildcard action, and the only grant on
		// every resource is X-Ray's, which has no resource-level permissions
		for id, pol := range tpl.ofType("AWS::IAM::Policy") {
			for _, st := range list(path(pol.Properties, "PolicyDocument", "Statement")) {
				actions := strs(path(st, "Action"))
				for _, a := range actions {
					if strings.Contains(a, "*") {
						t.Errorf("%s: policy %s grants %s", *stack.StackName(), id, a)
					}
				}
				for _, r := range strs(path(st, "Resource")) {
					if r != "*" {
						continue
					}
					for _, a := range actions {
						if !strings.HasPrefix(a, "xray:") {
							t.Errorf("%s: policy %s grants %s on *", *stack.StackName(), id, a)
						}
					}
				}
			}
		}
	}
}
