package stacks

import (
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

// hubAlarmArns matches every CloudWatch alarm of the stack's account and region.
func hubAlarmArns(stack awscdk.Stack) *string {
	return stack.FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("cloudwatch"),
		Resource:     jsii.String("alarm"),
		ResourceName: jsii.String("*"),
		ArnFormat:    awscdk.ArnFormat_COLON_RESOURCE_NAME,
	})
}

// GrantPublish lets fn publish to the notification topic and encrypt what it
// publishes with the topic's key. It grants kms:GenerateDataKey by name where
// Topic.GrantPublish grants kms:GenerateDataKey*, a wildcard action.
func (h *Hub) GrantPublish(fn awslambda.IFunction) {
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("PublishNotifications"),
		Actions:   jsii.Strings("sns:Publish"),
		Resources: jsii.Strings(*h.Topic.TopicArn()),
	}))
	h.Topic.MasterKey().Grant(fn, jsii.String("kms:Decrypt"), jsii.String("kms:GenerateDataKey"))
}
