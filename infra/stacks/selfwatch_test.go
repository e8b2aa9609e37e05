package stacks

import (
	"reflect"
	"testing"

	"github.com/highwayhq/highway/shared/policy"
)

// watchedPolicies are policies whose hubs differ in functions: the example's,
// and ones with drift detection and alarm response.
var watchedPolicies = []struct {
	name string
	give func(t *testing.T) *policy.Policy
}{
	{name: "example policy", give: examplePolicy},
	{name: "hub and spoke deliveries", give: func(t *testing.T) *policy.Policy { return parsePolicy(t, gatingPolicyYAML) }},
	{name: "drift with prefixes", give: func(t *testing.T) *policy.Policy { return parsePolicy(t, driftPolicyYAML) }},
	{name: "alarm response", give: func(t *testing.T) *policy.Policy { return parsePolicy(t, alarmPolicyYAML) }},
}

// alarmKey is what an alarm watches: a metric of a namespace, for the
// resource its one dimension refers to.
type alarmKey struct {
	namespace, metric, dimension, resource string
}

// hubAlarms returns the alarms of tpl by what they watch, and reports each
// whose actions are not exactly the notification topic, or that fires on
// anything but a first occurrence.
func hubAlarms(t *testing.T, tpl cfnTemplate) map[alarmKey]int {
	t.Helper()
	topic := ""
	for id, r := range tpl.ofType("AWS::SNS::Topic") {
		if r.Properties["TopicName"] != ApprovalTopicName(policy.Hub{Name: "highway"}) {
			topic = id
		}
	}
	out := map[alarmKey]int{}
	for id, a := range tpl.ofType("AWS::CloudWatch::Alarm") {
		p := a.Properties
		dims := list(p["Dimensions"])
		if len(dims) != 1 {
			t.Errorf("alarm %s dimensions = %v, want one", id, dims)
			continue
		}
		out[alarmKey{flat(p["Namespace"]), flat(p["MetricName"]), flat(path(dims[0], "Name")), refTo(path(dims[0], "Value"))}]++
		actions := list(p["AlarmActions"])
		if len(actions) != 1 || refTo(actions[0]) != topic {
			t.Errorf("alarm %s actions = %v, want the topic %s", id, actions, topic)
		}
		got := []any{p["ComparisonOperator"], p["Threshold"], p["TreatMissingData"]}
		want := []any{"GreaterThanThreshold", 0.0, "notBreaching"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("alarm %s (operator, threshold, missing data) = %v, want %v", id, got, want)
		}
	}
	return out
}

func TestEveryFunctionAlarmsOnErrorsAndThrottles(t *testing.T) {
	for _, tt := range watchedPolicies {
		t.Run(tt.name, func(t *testing.T) {
			// GIVEN a policy
			p := tt.give(t)

			// WHEN the hub is synthesized
			tpl := templateOf(t, synth(t, p).Hub.Stack)
			alarms := hubAlarms(t, tpl)

			// THEN every function has one alarm on its errors and one on its
			// throttles, each notifying people
			fns := tpl.ofType("AWS::Lambda::Function")
			if len(fns) == 0 {
				t.Fatal("the hub has no function")
			}
			for id := range fns {
				for _, metric := range []string{"Errors", "Throttles"} {
					if n := alarms[alarmKey{"AWS/Lambda", metric, "FunctionName", id}]; n != 1 {
						t.Errorf("function %s: %s alarms = %d, want 1", id, metric, n)
					}
				}
			}
		})
	}
}

func TestApprovalWorkflowAlarmsOnFailedAndTimedOutExecutions(t *testing.T) {
	// GIVEN a policy with an environment that needs approval
	p := parsePolicy(t, promotionPolicyYAML)

	// WHEN the hub is synthesized
	tpl := templateOf(t, synth(t, p).Hub.Stack)
	machine := only(t, tpl.ofType("AWS::StepFunctions::StateMachine"))
	alarms := hubAlarms(t, tpl)

	// THEN the promotion state machine has one alarm on failed and one on
	// timed-out executions, each notifying people
	for _, metric := range []string{"ExecutionsFailed", "ExecutionsTimedOut"} {
		if n := alarms[alarmKey{"AWS/States", metric, "StateMachineArn", machine}]; n != 1 {
			t.Errorf("state machine %s: %s alarms = %d, want 1", machine, metric, n)
		}
	}
}
