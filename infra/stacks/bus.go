package stacks

import (
	"sort"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/highwayhq/highway/shared/policy"
)

// forwardedSources are the AWS event sources every spoke forwards to the hub bus,
// and the only sources the hub bus accepts from spoke accounts.
var forwardedSources = []string{
	"aws.codecommit",
	"aws.codebuild",
	"aws.codepipeline",
	"aws.cloudformation",
	"aws.ecr",
	"aws.cloudwatch",
	"aws.ecs",
}

// newEventBus creates the hub's custom bus. Its resource policy lets the spoke
// accounts, and no one else outside the hub account, put events on it, and only
// events of the forwarded AWS sources.
func newEventBus(scope constructs.Construct, p *policy.Policy) awsevents.EventBus {
	bus := awsevents.NewEventBus(scope, jsii.String("Bus"), &awsevents.EventBusProps{
		EventBusName: jsii.String(BusName(p.Hub)),
		Description:  jsii.String("Highway: AWS events forwarded by spoke accounts and Highway's domain events."),
	})
	accounts := spokeAccounts(p)
	if len(accounts) == 0 {
		return bus
	}
	principals := make([]awsiam.IPrincipal, len(accounts))
	for i, a := range accounts {
		principals[i] = awsiam.NewAccountPrincipal(jsii.String(a))
	}
	bus.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("SpokesPutForwardedEvents"),
		Principals: &principals,
		Actions:    jsii.Strings("events:PutEvents"),
		Resources:  jsii.Strings(*bus.EventBusArn()),
		Conditions: &map[string]interface{}{
			"ForAllValues:StringEquals": map[string]interface{}{"events:source": forwardedSources},
		},
	}))
	return bus
}

// spokeAccounts are the distinct accounts of the policy's spokes, sorted so the
// synthesized policy does not change with the order of environments.
func spokeAccounts(p *policy.Policy) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range p.Spokes() {
		if !seen[s.Account] {
			seen[s.Account] = true
			out = append(out, s.Account)
		}
	}
	sort.Strings(out)
	return out
}
