package stacks

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
)

// stacksOf returns the hub stack and every spoke stack.
func stacksOf(h *Highway) []awscdk.Stack {
	return append([]awscdk.Stack{h.Hub.Stack}, h.Spokes...)
}

func TestEveryAsyncTargetHasItsOwnDeadLetterQueue(t *testing.T) {
	// GIVEN the example policy
	h := synth(t, examplePolicy(t))

	for _, stack := range stacksOf(h) {
		t.Run(*stack.StackName(), func(t *testing.T) {
			// WHEN the stack is synthesized
			tpl := templateOf(t, stack)

			// THEN every asynchronous target (rule target, function async
			// invocation, topic subscription, queue a function consumes) names
			// a dead-letter queue, rule targets and functions also bound
			// retries and event age, and no two targets share a queue, nor is
			// any queue left without a target but the queues functions consume
			users := map[string][]string{} // queue -> targets
			for id, r := range tpl.ofType("AWS::Events::Rule") {
				for i, target := range list(r.Properties["Targets"]) {
					name := id + "/" + flat(path(target, "Id"))
					q := refTo(path(target, "DeadLetterConfig", "Arn"))
					users[q] = append(users[q], name)
					if isLambdaTarget(tpl, target) {
						if path(target, "RetryPolicy", "MaximumRetryAttempts") == nil || path(target, "RetryPolicy", "MaximumEventAgeInSeconds") == nil {
							t.Errorf("rule %s target %d RetryPolicy = %v, want retries and maximum age", id, i, path(target, "RetryPolicy"))
						}
					}
				}
			}
			configs := map[string]cfnResource{} // function -> invoke config
			for _, c := range tpl.ofType("AWS::Lambda::EventInvokeConfig") {
				configs[flat(c.Properties["FunctionName"])] = c
			}
			for id := range tpl.ofType("AWS::Lambda::Function") {
				c, ok := configs["${"+id+"}"]
				if !ok {
					t.Errorf("function %s has no EventInvokeConfig", id)
					continue
				}
				p := c.Properties
				q := refTo(path(p, "DestinationConfig", "OnFailure", "Destination"))
				users[q] = append(users[q], id)
				if p["MaximumRetryAttempts"] == nil || p["MaximumEventAgeInSeconds"] == nil {
					t.Errorf("function %s invoke config = %v, want retries and maximum age", id, p)
				}
			}
			for id, s := range tpl.ofType("AWS::SNS::Subscription") {
				q := refTo(path(s.Properties, "RedrivePolicy", "deadLetterTargetArn"))
				users[q] = append(users[q], id)
			}
			queues := tpl.ofType("AWS::SQS::Queue")
			consumed := consumedQueues(tpl)
			for q := range consumed {
				dlq := refTo(path(queues[q].Properties, "RedrivePolicy", "deadLetterTargetArn"))
				users[dlq] = append(users[dlq], q)
				if path(queues[q].Properties, "RedrivePolicy", "maxReceiveCount") == nil {
					t.Errorf("consumed queue %s redrive policy = %v, want a maximum receive count", q, path(queues[q].Properties, "RedrivePolicy"))
				}
			}

			for q, targets := range users {
				_, isQueue := queues[q]
				switch {
				case !isQueue:
					t.Errorf("targets %v have dead-letter queue %q, want a queue of this stack", targets, q)
				case len(targets) > 1 && !allOfType(tpl, targets, "AWS::SNS::Subscription"):
					t.Errorf("queue %s serves %v, want one target (or the topic's subscriptions)", q, targets)
				}
			}
			for q := range queues {
				if len(users[q]) == 0 && !consumed[q] {
					t.Errorf("queue %s is the dead-letter queue of no target", q)
				}
			}
		})
	}
}

// consumedQueues returns the queues of tpl that an event source mapping
// consumes: work queues, not dead-letter queues.
func consumedQueues(tpl cfnTemplate) map[string]bool {
	out := map[string]bool{}
	for _, m := range tpl.ofType("AWS::Lambda::EventSourceMapping") {
		if q := refTo(m.Properties["EventSourceArn"]); tpl.Resources[q].Type == "AWS::SQS::Queue" {
			out[q] = true
		}
	}
	return out
}

// allOfType reports whether every resource in ids has type typ.
func allOfType(tpl cfnTemplate, ids []string, typ string) bool {
	for _, id := range ids {
		if tpl.Resources[id].Type != typ {
			return false
		}
	}
	return true
}

// isLambdaTarget reports whether a rule target invokes a function of the template.
func isLambdaTarget(tpl cfnTemplate, target any) bool {
	return tpl.Resources[refTo(path(target, "Arn"))].Type == "AWS::Lambda::Function"
}

func TestEveryDeadLetterQueueHasAnAlarm(t *testing.T) {
	// GIVEN the example policy
	h := synth(t, examplePolicy(t))

	for _, stack := range stacksOf(h) {
		t.Run(*stack.StackName(), func(t *testing.T) {
			// WHEN the stack is synthesized
			tpl := templateOf(t, stack)

			// THEN each dead-letter queue has one alarm that fires on its
			// first visible message, and in the hub it notifies the topic; a
			// queue a function consumes fills and drains by design, and its
			// own dead-letter queue alarms instead (the alarms on functions
			// and the workflow are selfwatch_test's)
			alarms := map[string]int{}
			for id, a := range tpl.ofType("AWS::CloudWatch::Alarm") {
				p := a.Properties
				if p["Namespace"] != "AWS/SQS" {
					continue
				}
				dims := list(p["Dimensions"])
				if len(dims) != 1 || path(dims[0], "Name") != "QueueName" {
					t.Errorf("alarm %s dimensions = %v, want one QueueName", id, dims)
					continue
				}
				q := refTo(path(dims[0], "Value"))
				alarms[q]++
				if p["MetricName"] != "ApproximateNumberOfMessagesVisible" || p["Namespace"] != "AWS/SQS" ||
					p["ComparisonOperator"] != "GreaterThanThreshold" || p["Threshold"] != 0.0 {
					t.Errorf("alarm %s = %v %v %v %v, want AWS/SQS ApproximateNumberOfMessagesVisible GreaterThanThreshold 0",
						id, p["Namespace"], p["MetricName"], p["ComparisonOperator"], p["Threshold"])
				}
				if stack == h.Hub.Stack {
					topic := refTo(list(p["AlarmActions"])[0])
					if len(list(p["AlarmActions"])) != 1 || tpl.Resources[topic].Type != "AWS::SNS::Topic" {
						t.Errorf("alarm %s actions = %v, want the notification topic", id, p["AlarmActions"])
					}
				}
			}
			queues := tpl.ofType("AWS::SQS::Queue")
			if len(queues) == 0 {
				t.Fatal("no queues; every stack has at least one asynchronous target")
			}
			consumed := consumedQueues(tpl)
			for q := range queues {
				if consumed[q] {
					if alarms[q] != 0 {
						t.Errorf("consumed queue %s has %d alarms, want none: it holds messages by design", q, alarms[q])
					}
					continue
				}
				if alarms[q] != 1 {
					t.Errorf("queue %s has %d alarms, want 1", q, alarms[q])
				}
			}
		})
	}
}

func TestDeadLetterQueuesAreEncryptedAndTLSOnly(t *testing.T) {
	// GIVEN the example policy
	h := synth(t, examplePolicy(t))

	for _, stack := range stacksOf(h) {
		// WHEN the stack is synthesized
		tpl := templateOf(t, stack)

		// THEN every queue is encrypted and its policy denies requests without TLS
		denied := map[string]bool{}
		for _, qp := range tpl.ofType("AWS::SQS::QueuePolicy") {
			for _, st := range list(path(qp.Properties, "PolicyDocument", "Statement")) {
				if path(st, "Effect") == "Deny" && path(st, "Condition", "Bool", "aws:SecureTransport") == "false" {
					for _, q := range list(qp.Properties["Queues"]) {
						denied[refTo(q)] = true
					}
				}
			}
		}
		for id, q := range tpl.ofType("AWS::SQS::Queue") {
			if q.Properties["SqsManagedSseEnabled"] != true && q.Properties["KmsMasterKeyId"] == nil {
				t.Errorf("%s: queue %s is not encrypted", *stack.StackName(), id)
			}
			if !denied[id] {
				t.Errorf("%s: queue %s accepts requests without TLS", *stack.StackName(), id)
			}
		}
	}
}
