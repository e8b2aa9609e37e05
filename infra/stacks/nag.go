package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// checkCompliance applies the cdk-nag packs Highway must pass to every stack under
// scope. Their findings are error annotations, which fail `cdk synth`.
func checkCompliance(scope constructs.IConstruct) {
	aspects := awscdk.Aspects_Of(scope)
	aspects.Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	aspects.Add(cdknag.NewServerlessChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
}

// rule is one cdk-nag suppression with its reason, optionally narrowed to the
// findings (for example "Resource::*") it covers.
func rule(id, reason string, appliesTo ...string) *cdknag.NagPackSuppression {
	s := &cdknag.NagPackSuppression{Id: jsii.String(id), Reason: jsii.String(reason)}
	if len(appliesTo) > 0 {
		findings := make([]interface{}, len(appliesTo))
		for i, a := range appliesTo {
			findings[i] = a
		}
		s.AppliesTo = &findings
	}
	return s
}

// suppress records suppressions on a construct, and on its children when
// children is true (an L2 construct's policies and defaults live there).
func suppress(c constructs.IConstruct, children bool, rules ...*cdknag.NagPackSuppression) {
	cdknag.NagSuppressions_AddResourceSuppressions(c, &rules, jsii.Bool(children))
}
