package stacks

import (
	"slices"
	"strings"
	"testing"
)

func TestSpokeForwardsExactlyTheSevenSources(t *testing.T) {
	// GIVEN the example policy
	h := synth(t, examplePolicy(t))
	hub := h.Hub.Policy.Hub
	want := []string{"aws.cloudformation", "aws.cloudwatch", "aws.codebuild", "aws.codecommit", "aws.codepipeline", "aws.ecr", "aws.ecs"}

	for _, stack := range h.Spokes {
		// WHEN a spoke is synthesized
		tpl := templateOf(t, stack)

		// THEN its default bus forwards the seven sources, and nothing else, to
		// the hub bus through a role, with a dead-letter queue
		var sources []string
		for id, r := range tpl.ofType("AWS::Events::Rule") {
			if r.Properties["EventBusName"] != nil {
				t.Errorf("rule %s is on bus %v, want the default bus", id, r.Properties["EventBusName"])
			}
			sources = append(sources, strs(path(r.Properties, "EventPattern", "source"))...)
			if len(r.Properties["EventPattern"].(map[string]any)) != 1 {
				t.Errorf("rule %s pattern = %v, want sources only", id, r.Properties["EventPattern"])
			}
			for _, target := range list(r.Properties["Targets"]) {
				wantBus := ":events:" + hub.Region + ":" + hub.Account + ":event-bus/" + BusName(hub)
				if arn := flat(path(target, "Arn")); !strings.HasSuffix(arn, wantBus) {
					t.Errorf("rule %s target = %s, want ...%s", id, arn, wantBus)
				}
				if tpl.Resources[refTo(path(target, "RoleArn"))].Type != "AWS::IAM::Role" {
					t.Errorf("rule %s target role = %v, want a role of the stack", id, path(target, "RoleArn"))
				}
			}
		}
		slices.Sort(sources)
		if !slices.Equal(sources, want) {
			t.Errorf("%s forwards %v, want %v", *stack.StackName(), sources, want)
		}
	}

	// AND the hub bus accepts exactly those sources from the spokes
	got := slices.Sorted(slices.Values(forwardedSources))
	if !slices.Equal(got, want) {
		t.Errorf("hub bus accepts %v, want %v", got, want)
	}
}
