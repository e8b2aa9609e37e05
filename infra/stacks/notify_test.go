package stacks

import (
	"maps"
	"reflect"
	"slices"
	"testing"

	"github.com/highwayhq/highway/shared/approval"
	"github.com/highwayhq/highway/shared/localaws"
)

func TestTopicsAreEncryptedAndDenyInsecureTransport(t *testing.T) {
	// GIVEN the example policy, which subscribes e-mails and has approvers
	p := examplePolicy(t)
	h := synth(t, p)

	// WHEN the hub is synthesized
	tpl := templateOf(t, h.Hub.Stack)

	// THEN there are two topics, for notifications and for approvals; each
	// uses a rotating customer-managed key of its own, its policy denies
	// publishing without TLS, and the notification topic subscribes each
	// policy e-mail
	topics := tpl.ofType("AWS::SNS::Topic")
	names := map[string]string{} // id -> name
	for id, topic := range topics {
		names[id] = flat(topic.Properties["TopicName"])
	}
	if got, want := slices.Sorted(maps.Values(names)), []string{ApprovalTopicName(p.Hub), TopicName(p.Hub)}; !slices.Equal(got, want) {
		t.Fatalf("topics = %v, want %v", got, want)
	}
	keys := map[string]bool{}
	for id, topic := range topics {
		key := tpl.Resources[refTo(topic.Properties["KmsMasterKeyId"])]
		if key.Type != "AWS::KMS::Key" || key.Properties["EnableKeyRotation"] != true {
			t.Errorf("topic %s key = %v %v, want a KMS key with rotation", names[id], key.Type, key.Properties["EnableKeyRotation"])
		}
		keys[refTo(topic.Properties["KmsMasterKeyId"])] = true
		denied := false
		for _, st := range list(path(topicPolicyOf(tpl, id), "Statement")) {
			if path(st, "Effect") == "Deny" && flat(path(st, "Principal")) == "*" &&
				slices.Contains(strs(path(st, "Action")), "sns:Publish") &&
				path(st, "Condition", "Bool", "aws:SecureTransport") == "false" {
				denied = true
			}
		}
		if !denied {
			t.Errorf("topic %s policy does not deny sns:Publish without TLS", names[id])
		}
		if names[id] != TopicName(p.Hub) {
			continue
		}
		emails := subscribed(tpl, id)
		want := slices.Sorted(slices.Values(p.Hub.NotifyEmails))
		if !slices.Equal(emails, want) {
			t.Errorf("e-mail subscriptions = %v, want %v", emails, want)
		}
	}
	if len(keys) != 2 {
		t.Errorf("the topics share a key")
	}
}

func TestApprovalTopicSubscribesEachApproverToTheirOwnMessages(t *testing.T) {
	// GIVEN a policy with two approvals whose approvers share one: ana and
	// lee approve checkout, lee and kim billing
	p := approvalPolicy(t)

	// WHEN the hub is synthesized
	tpl := templateOf(t, synth(t, p).Hub.Stack)

	// THEN the approvals topic has one e-mail subscription per distinct
	// approver, whose filter policy takes only the messages addressed to them
	// by the attribute approvalrequest sets, and failed deliveries go to a
	// dead-letter queue; no one else is subscribed; and approvalrequest is
	// told the topic
	var topic string
	for id, r := range tpl.ofType("AWS::SNS::Topic") {
		if r.Properties["TopicName"] == ApprovalTopicName(p.Hub) {
			topic = id
		}
	}
	if topic == "" {
		t.Fatal("no approvals topic")
	}
	got := map[string]any{}
	for _, s := range tpl.ofType("AWS::SNS::Subscription") {
		if refTo(s.Properties["TopicArn"]) != topic {
			continue
		}
		who := flat(s.Properties["Endpoint"])
		if s.Properties["Protocol"] != "email" || path(s.Properties, "RedrivePolicy", "deadLetterTargetArn") == nil {
			t.Errorf("subscription of %s = %v, want e-mail with a dead-letter queue", who, s.Properties)
		}
		if _, dup := got[who]; dup {
			t.Errorf("%s is subscribed twice", who)
		}
		got[who] = s.Properties["FilterPolicy"]
		if scope := s.Properties["FilterPolicyScope"]; scope != nil && scope != "MessageAttributes" {
			t.Errorf("subscription of %s filters %v, want the message attributes", who, scope)
		}
	}
	want := map[string]any{}
	for _, who := range []string{"ana@example.com", "kim@example.com", "lee@example.com"} {
		want[who] = map[string]any{approval.MessageAttributeApprover: []any{who}}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("approvals topic subscriptions (e-mail: filter policy) = %v, want %v", got, want)
	}
	if env := functionEnv(t, tpl, p.Hub, FunctionApprovalRequest); refTo(env["HIGHWAY_APPROVAL_TOPIC"]) != topic {
		t.Errorf("approvalrequest HIGHWAY_APPROVAL_TOPIC = %v, want the approvals topic %s", env["HIGHWAY_APPROVAL_TOPIC"], topic)
	}
}

func TestApprovalTopicLetsOnlyItsPublisherPublishAndDeploymentsSubscribe(t *testing.T) {
	// GIVEN a policy with approvals, synthesized
	p := approvalPolicy(t)
	h := synth(t, p)
	tpl := templateOf(t, h.Hub.Stack)
	doc, arn := topicPolicy(t, h, tpl, ApprovalTopicName(p.Hub))
	admin := []localaws.NamedPolicy{{Name: "AdministratorAccess", Policy: map[string]any{
		"Version":   "2012-10-17",
		"Statement": []any{map[string]any{"Effect": "Allow", "Action": "*", "Resource": "*"}},
	}}}
	person := func(role, action string, tls bool) localaws.IAMRequest {
		return localaws.IAMRequest{
			Name:      role + " " + action,
			Principal: "arn:aws:sts::" + p.Hub.Account + ":assumed-role/" + role + "/someone",
			Action:    action, Resource: arn, Account: p.Hub.Account,
			Context: map[string]any{
				"aws:PrincipalArn": "arn:aws:iam::" + p.Hub.Account + ":role/" + role, "aws:PrincipalAccount": p.Hub.Account,
				"aws:SecureTransport": boolString(tls),
			},
			IdentityPolicies: admin,
		}
	}
	role := func(fn, action string, tls bool) localaws.IAMRequest {
		return roleRequest(t, h, tpl, fn, action, arn, map[string]any{"aws:SecureTransport": boolString(tls)})
	}

	// WHEN IAM decides who may publish to and subscribe to the approvals
	// topic, with its resource policy
	tests := []struct {
		give localaws.IAMRequest
		want bool
	}{
		{role(FunctionApprovalRequest, "sns:Publish", true), true},
		{role(FunctionApprovalRequest, "sns:Publish", false), false},
		{role(FunctionApprovalRequest, "sns:Subscribe", true), false},
		{role(FunctionApproval, "sns:Publish", true), false},
		{role(FunctionApproval, "sns:Subscribe", true), false},
		{person("Admin", "sns:Publish", true), false},
		{person("Admin", "sns:Subscribe", true), false},
		{person("cdk-hnb659fds-cfn-exec-role-"+p.Hub.Account+"-"+p.Hub.Region, "sns:Subscribe", true), true},
		{person("cdk-hnb659fds-cfn-exec-role-"+p.Hub.Account+"-"+p.Hub.Region, "sns:Subscribe", false), false},
		{person("cdk-hnb659fds-cfn-exec-role-"+p.Hub.Account+"-"+p.Hub.Region, "sns:Publish", true), false},
	}
	var requests []localaws.IAMRequest
	var want []bool
	for _, tt := range tests {
		tt.give.ResourcePolicy = doc
		requests = append(requests, tt.give)
		want = append(want, tt.want)
	}

	// THEN approvalrequest alone may publish, over TLS; only CloudFormation
	// deployments may subscribe, even an administrator of the account may not
	simulate(t, requests, want)
}

// topicPolicyOf returns the policy document of the topic id in tpl.
func topicPolicyOf(tpl cfnTemplate, id string) any {
	for _, tp := range tpl.ofType("AWS::SNS::TopicPolicy") {
		if slices.Contains(refs(tp.Properties["Topics"]), id) {
			return tp.Properties["PolicyDocument"]
		}
	}
	return nil
}

// subscribed returns the e-mail addresses subscribed to topic id, sorted.
func subscribed(tpl cfnTemplate, id string) []string {
	var emails []string
	for _, s := range tpl.ofType("AWS::SNS::Subscription") {
		if refTo(s.Properties["TopicArn"]) == id && s.Properties["Protocol"] == "email" {
			emails = append(emails, flat(s.Properties["Endpoint"]))
		}
	}
	slices.Sort(emails)
	return emails
}

// boolString is b as IAM's context holds it.
func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// refs returns the logical ids a list of references names.
func refs(v any) []string {
	var out []string
	for _, r := range list(v) {
		out = append(out, refTo(r))
	}
	return out
}
