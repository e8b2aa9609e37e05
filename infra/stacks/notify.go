package stacks

import (
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/highwayhq/highway/shared/approval"
	"github.com/highwayhq/highway/shared/policy"
)

// newNotifications creates the topic that tells people when Highway needs them:
// encrypted with a rotating customer-managed key (CloudWatch alarms cannot publish
// under the AWS-managed SNS key), TLS-only, with the policy's e-mails subscribed.
// It returns the topic and the dead-letter queue of the e-mails (nil without
// e-mails).
func newNotifications(scope constructs.Construct, hub policy.Hub) (awssns.Topic, awssqs.Queue) {
	c := constructs.NewConstruct(scope, jsii.String("Notifications"))
	cloudwatch := awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)

	key := awskms.NewKey(c, jsii.String("Key"), &awskms.KeyProps{
		Description:       jsii.String("Highway " + hub.Name + ": encrypts the notification topic."),
		EnableKeyRotation: jsii.Bool(true),
	})
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AlarmsPublishToEncryptedTopic"),
		Principals: &[]awsiam.IPrincipal{cloudwatch},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey*"),
		Resources:  jsii.Strings("*"), // in a key policy, "*" is this key
	}), nil)

	topic := awssns.NewTopic(c, jsii.String("Topic"), &awssns.TopicProps{
		TopicName:   jsii.String(TopicName(hub)),
		DisplayName: jsii.String("Highway"),
		MasterKey:   key,
		EnforceSSL:  jsii.Bool(true),
	})
	// The topic policy replaces SNS's default one, so CloudWatch needs an explicit
	// grant; it is limited to the alarms of the hub account and region.
	topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("HubAlarmsPublish"),
		Principals: &[]awsiam.IPrincipal{cloudwatch},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  jsii.Strings(*topic.TopicArn()),
		Conditions: &map[string]interface{}{
			"ArnLike": map[string]interface{}{"aws:SourceArn": hubAlarmArns(awscdk.Stack_Of(scope))},
		},
	}))

	if len(hub.NotifyEmails) == 0 {
		return topic, nil
	}
	dlq := newDeadLetterQueue(c, "EmailDeliveryFailures", "the notification e-mails",
		awscloudwatchactions.NewSnsAction(topic))
	for _, email := range hub.NotifyEmails {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(email),
			&awssnssubscriptions.EmailSubscriptionProps{DeadLetterQueue: dlq}))
	}
	return topic, dlq
}

// ApprovalTopicName is the name of the approvals topic, which carries each
// approver their own approval links.
func ApprovalTopicName(hub policy.Hub) string { return hub.Name + "-approvals" }

// newApprovalTopic creates the topic that carries approval requests, and
// nothing else, to the approvers: encrypted with a rotating customer-managed
// key of its own, TLS-only. Each distinct approver of the policy has one e-mail
// subscription, whose filter policy takes only the messages whose
// approval.MessageAttributeApprover attribute names them, so each approver
// receives their own links and no one else's. Its policy lets publisher alone
// publish, and no one but CloudFormation deployments (the CDK bootstrap roles,
// cdk-*) subscribe: no one else can read the links.
func newApprovalTopic(scope constructs.Construct, hub *Hub, publisher awsiam.IRole) awssns.Topic {
	h := hub.Policy.Hub
	c := constructs.NewConstruct(scope, jsii.String("Approvals"))
	key := awskms.NewKey(c, jsii.String("Key"), &awskms.KeyProps{
		Description:       jsii.String("Highway " + h.Name + ": encrypts the approvals topic."),
		EnableKeyRotation: jsii.Bool(true),
	})
	topic := awssns.NewTopic(c, jsii.String("Topic"), &awssns.TopicProps{
		TopicName:   jsii.String(ApprovalTopicName(h)),
		DisplayName: jsii.String("Highway approvals"),
		MasterKey:   key,
		EnforceSSL:  jsii.Bool(true),
	})
	anyone := &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()}
	topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("ApprovalRequestsPublish"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewArnPrincipal(publisher.RoleArn())},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  jsii.Strings(*topic.TopicArn()),
	}))
	topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("NoOtherPublisher"),
		Effect:     awsiam.Effect_DENY,
		Principals: anyone,
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  jsii.Strings(*topic.TopicArn()),
		Conditions: &map[string]any{"ArnNotEquals": map[string]any{"aws:PrincipalArn": publisher.RoleArn()}},
	}))
	// EnforceSSL denies publishing without TLS; subscribing too.
	topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("SubscribeOverTLSOnly"),
		Effect:     awsiam.Effect_DENY,
		Principals: anyone,
		Actions:    jsii.Strings("sns:Subscribe"),
		Resources:  jsii.Strings(*topic.TopicArn()),
		Conditions: &map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
	}))
	topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("OnlyDeploymentsSubscribe"),
		Effect:     awsiam.Effect_DENY,
		Principals: anyone,
		Actions:    jsii.Strings("sns:Subscribe"),
		Resources:  jsii.Strings(*topic.TopicArn()),
		Conditions: &map[string]any{"ArnNotLike": map[string]any{"aws:PrincipalArn": deploymentRoles(h)}},
	}))

	approvers := policyApprovers(hub.Policy)
	if len(approvers) == 0 {
		return topic
	}
	dlq := hub.deadLetterQueue(c, "EmailDeliveryFailures", "the approval e-mails")
	for _, who := range approvers {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(who),
			&awssnssubscriptions.EmailSubscriptionProps{
				DeadLetterQueue: dlq,
				FilterPolicy: &map[string]awssns.SubscriptionFilter{
					approval.MessageAttributeApprover: awssns.SubscriptionFilter_StringFilter(&awssns.StringConditions{
						Allowlist: jsii.Strings(who),
					}),
				},
			}))
	}
	return topic
}

// deploymentRoles matches the roles of the CDK bootstrap in the hub account,
// through which CloudFormation deploys the hub.
func deploymentRoles(h policy.Hub) string {
	return "arn:" + *awscdk.Aws_PARTITION() + ":iam::" + h.Account + ":role/cdk-*"
}

// policyApprovers returns the distinct approvers of every environment of p,
// sorted.
func policyApprovers(p *policy.Policy) []string {
	var out []string
	for _, a := range p.Apps {
		for _, e := range a.Environments {
			if e.Approval == nil {
				continue
			}
			for _, who := range e.Approval.Approvers {
				if !slices.Contains(out, who) {
					out = append(out, who)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// hubAlarmArns matches every CloudWatch alarm of the stack's account and region.
func hubAlarmArns(stack awscdk.Stack) *string {
	return stack.FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("cloudwatch"),
		Resource:     jsii.String("alarm"),
		ResourceName: jsii.String("*"),
		ArnFormat:    awscdk.ArnFormat_COLON_RESOURCE_NAME,
	})
}

// GrantPublish lets fn publish to the notification topic, and to the topics
// also, and encrypt what it publishes with their keys, in one statement for
// the topics and one for the keys. It grants kms:GenerateDataKey by name where
// Topic.GrantPublish grants kms:GenerateDataKey*, a wildcard action.
func (h *Hub) GrantPublish(fn awslambda.IFunction, also ...awssns.Topic) {
	var topics, keys []*string
	for _, t := range append([]awssns.Topic{h.Topic}, also...) {
		topics = append(topics, t.TopicArn())
		keys = append(keys, t.MasterKey().KeyArn())
	}
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("PublishNotifications"),
		Actions:   jsii.Strings("sns:Publish"),
		Resources: &topics,
	}))
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("kms:Decrypt", "kms:GenerateDataKey"),
		Resources: &keys,
	}))
}
