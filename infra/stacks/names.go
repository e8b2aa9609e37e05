package stacks

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/highwayhq/highway/shared/policy"
)

// The physical names below are derived from the policy alone, so a spoke stack can
// address the hub's bus and the hub can address every spoke's role without
// cross-stack references (which CDK cannot make across accounts).

// HubStackName is the CloudFormation stack name of the hub.
func HubStackName(hub policy.Hub) string { return hub.Name + "-hub" }

// SpokeStackName is the CloudFormation stack name of one spoke.
func SpokeStackName(hub policy.Hub, s policy.Spoke) string {
	return fmt.Sprintf("%s-spoke-%s-%s", hub.Name, s.Account, s.Region)
}

// BusName is the name of the hub's custom event bus, where spokes forward their
// AWS events and functions publish Highway's domain events.
func BusName(hub policy.Hub) string { return hub.Name }

// TableName is the name of the ledger table.
func TableName(hub policy.Hub) string { return hub.Name + "-ledger" }

// TopicName is the name of the notification topic.
func TopicName(hub policy.Hub) string { return hub.Name + "-notifications" }

// FunctionName is the Lambda function name of the function built from
// functions/<name>.
func FunctionName(hub policy.Hub, name string) string { return hub.Name + "-" + name }

// PromotionStateMachineName is the name of the state machine that carries a
// promotion through its preconditions, approval and deployment.
func PromotionStateMachineName(hub policy.Hub) string { return hub.Name + "-promotion" }

// ApprovalSecretName is the name of the secret holding the key that signs
// approval links: {"current": key} and, while links signed before a rotation
// are still valid, {"previous": key}.
func ApprovalSecretName(hub policy.Hub) string { return hub.Name + "/approval-links" }

// WebhookSecretName is the name of the secret GitHub signs webhook
// deliveries with: {"current": secret} and, while a rotation completes,
// {"previous": secret}.
func WebhookSecretName(hub policy.Hub) string { return hub.Name + "/github-webhook" }

// PipelineInvokeRoleName is the role in the hub account that pipelines of
// delivery account account name as the RoleArn of their invoke action of the
// gatejob function. It lies outside the function roles' path.
func PipelineInvokeRoleName(hub policy.Hub, account string) string {
	return hub.Name + "-pipeline-invoke-" + account
}

// FunctionRoleName is the name of the role of the hub function built from
// functions/<name>, under functionRolePath: access roles trust it by name.
func FunctionRoleName(hub policy.Hub, name string) string { return hub.Name + "-" + name }

// AccessRoleName is the name of the role, one in every account where the
// capability acts, through which its hub functions act on the apps'
// resources there.
func AccessRoleName(hub policy.Hub, capability string) string {
	return hub.Name + "-access-" + capability
}

// functionRolePath is the IAM path of every hub function's role; spoke roles trust
// exactly the hub roles under it.
func functionRolePath(hub policy.Hub) string { return "/" + hub.Name + "/" }

// busArn is the hub bus's ARN as seen from any stack.
func busArn(stack awscdk.Stack, hub policy.Hub) *string {
	return awscdk.Arn_Format(&awscdk.ArnComponents{
		Service:      jsii.String("events"),
		Account:      jsii.String(hub.Account),
		Region:       jsii.String(hub.Region),
		Resource:     jsii.String("event-bus"),
		ResourceName: jsii.String(BusName(hub)),
		ArnFormat:    awscdk.ArnFormat_SLASH_RESOURCE_NAME,
	}, stack)
}
