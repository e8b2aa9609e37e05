package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/highwayhq/highway/shared/approval"
	"github.com/highwayhq/highway/shared/bus"
	"github.com/highwayhq/highway/shared/function"
)

// The approval of a promotion: the key that signs approval links, the function
// that sends each approver their own links on the approvals topic, and the
// function behind the URL approvers open.

// approvalConcurrency is the reserved concurrency of the approval function,
// whose URL anyone can reach: a flood of requests runs at most this many at a
// time, and takes nothing from the account's other functions. People deciding
// by hand need far fewer.
const approvalConcurrency = 5

// Why the approval function's wildcard is there, for cdk-nag.
const whyExecutions = "An execution's ARN ends in its name, the promotion id, known only when promote starts it; execution:<promotion state machine>:* reaches only the promotion state machine's executions, which the approval function reads when answering a task finds it gone."

// newApprovalSecret creates the secret whose key signs approval links: 64
// random letters and digits (about 380 bits) as {"current": key}, encrypted with
// Secrets Manager's AWS-managed key.
func newApprovalSecret(scope constructs.Construct, hub *Hub) awssecretsmanager.Secret {
	secret := awssecretsmanager.NewSecret(scope, jsii.String("ApprovalKey"), &awssecretsmanager.SecretProps{
		SecretName:  jsii.String(ApprovalSecretName(hub.Policy.Hub)),
		Description: jsii.String("Highway " + hub.Policy.Hub.Name + ": the HMAC key that signs approval links, as {\"current\": key, \"previous\": key}."),
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			SecretStringTemplate: jsii.String("{}"),
			GenerateStringKey:    jsii.String("current"),
			PasswordLength:       jsii.Number(64),
			ExcludePunctuation:   jsii.Bool(true),
			IncludeSpace:         jsii.Bool(false),
		},
	})
	suppress(secret, false, rule("AwsSolutions-SMG4", whyApprovalKey))
	return secret
}

// grantApprovalKey lets fn read the key that signs approval links, and tells it
// where the key is.
func grantApprovalKey(fn awslambda.Function, secret awssecretsmanager.Secret) {
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("ReadApprovalKey"),
		Actions:   jsii.Strings("secretsmanager:GetSecretValue"),
		Resources: jsii.Strings(*secret.SecretArn()),
	}))
	fn.AddEnvironment(jsii.String(EnvApprovalSecret), secret.SecretArn(), nil)
}

// newApprovalRequest creates the function the promotion workflow waits on: it
// files the approval request, sends each approver their own links (made on
// url) on the approvals topic, which it alone may publish to, and expires the
// requests nobody answered, telling the notification topic.
func newApprovalRequest(scope constructs.Construct, hub *Hub, secret awssecretsmanager.Secret, url awslambda.FunctionUrl) (awslambda.Function, error) {
	fn, err := hub.Function(scope, FunctionApprovalRequest, FunctionProps{
		Description: "Highway: sends the approvers of a promotion their signed approval links.",
	})
	if err != nil {
		return nil, err
	}
	hub.GrantLedgerReadWrite(fn)
	hub.Bus.GrantPutEventsTo(fn, nil)
	topic := newApprovalTopic(scope, hub, fn.Role())
	hub.GrantPublish(fn, topic) // links on the approvals topic, expiry notices on the other
	grantApprovalKey(fn, secret)
	fn.AddEnvironment(jsii.String(EnvApprovalURL), url.Url(), nil)
	fn.AddEnvironment(jsii.String(function.EnvApprovalTopic), topic.TopicArn(), nil)
	return fn, nil
}

// newApproval creates the function people's browsers reach through its URL,
// without AWS credentials, when they open an approval link. It checks the link,
// records the vote, and answers the waiting task once the quorum approves or
// anyone rejects. Its URL is an output. Anyone can reach it, so it runs with
// reserved concurrency, and its role reaches only the ledger items of
// approvals, puts only its own events on the bus, and reads only the
// promotion workflow's executions.
func newApproval(scope constructs.Construct, hub *Hub, secret awssecretsmanager.Secret) (awslambda.FunctionUrl, error) {
	fn, err := hub.Function(scope, FunctionApproval, FunctionProps{
		Description: "Highway: serves signed approval links and answers the promotion waiting for them.",
	})
	if err != nil {
		return nil, err
	}
	fn.Node().DefaultChild().(awslambda.CfnFunction).SetReservedConcurrentExecutions(jsii.Number(approvalConcurrency))
	allow(fn, fn.Role(), []permission{decisionLedger(hub), decisionEvents(hub), executionReads(hub)})
	hub.GrantPublish(fn) // expiry notices, which carry no link
	grantApprovalKey(fn, secret)
	allow(fn, fn.Role(), []permission{taskAnswers()})
	fn.AddEnvironment(jsii.String(EnvApprovalStateMachine), promotionMachineArn(hub), nil)
	// No IAM auth: approvers open their links in a browser, without AWS
	// credentials. Every link is HMAC-signed (approval, approver, action,
	// expiry), single-use, and checked in constant time by the function. (No
	// rule of the cdk-nag packs Highway applies asks for IAM auth on a URL.)
	url := fn.AddFunctionUrl(&awslambda.FunctionUrlOptions{AuthType: awslambda.FunctionUrlAuthType_NONE})
	awscdk.NewCfnOutput(scope, jsii.String("ApprovalUrl"), &awscdk.CfnOutputProps{
		Description: jsii.String("Where approval links point: the approval function's URL."),
		Value:       url.Url(),
	})
	return url, nil
}

// decisionLedger lets the approval function take the actions deciding takes on
// the ledger, on the items of approvals alone (approval.LedgerPartitions).
func decisionLedger(hub *Hub) permission {
	return ledgerItems(hub, "DecideApprovals", approval.LedgerActions(), approval.LedgerPartitions())
}

// ledgerItems lets a function take actions on the ledger's items whose
// partition keys match partitions alone: dynamodb:LeadingKeys limits it to
// them. It cannot scan, delete or write in batches.
func ledgerItems(hub *Hub, sid string, actions, partitions []string) permission {
	return permission{
		sid:       sid,
		actions:   actions,
		resources: []resourceArn{{text: *hub.Table.TableArn()}},
		conditions: map[string]any{
			"ForAllValues:StringLike": map[string]any{"dynamodb:LeadingKeys": partitions},
			"Null":                    map[string]any{"dynamodb:LeadingKeys": "false"},
		},
	}
}

// decisionEvents lets the approval function put its own events on the bus.
func decisionEvents(hub *Hub) permission {
	return ownEvents(hub, "AnnounceDecisions", approval.DecisionDetailTypes())
}

// ownEvents lets a function put its own events on the bus: Highway's source,
// the detail types it publishes, and no other.
func ownEvents(hub *Hub, sid string, detailTypes []string) permission {
	return permission{
		sid:       sid,
		actions:   []string{"events:PutEvents"},
		resources: []resourceArn{{text: *hub.Bus.EventBusArn()}},
		conditions: map[string]any{
			"ForAllValues:StringEquals": map[string]any{
				"events:detail-type": detailTypes,
				"events:source":      []string{bus.Source},
			},
			"Null": map[string]any{"events:detail-type": "false", "events:source": "false"},
		},
	}
}

// executionReads lets the approval function read the status of the promotion
// workflow's executions.
func executionReads(hub *Hub) permission {
	h := hub.Policy.Hub
	return permission{
		sid:       "ReadPromotionExecutions",
		actions:   []string{"states:DescribeExecution"},
		resources: []resourceArn{arnOf("states", h.Region, h.Account, "execution:"+PromotionStateMachineName(h)+":*")},
		why:       whyExecutions,
	}
}

// promotionMachineArn is the ARN of the promotion state machine, derived from
// its name.
func promotionMachineArn(hub *Hub) *string {
	return awscdk.Arn_Format(&awscdk.ArnComponents{
		Service:      jsii.String("states"),
		Resource:     jsii.String("stateMachine"),
		ResourceName: jsii.String(PromotionStateMachineName(hub.Policy.Hub)),
		ArnFormat:    awscdk.ArnFormat_COLON_RESOURCE_NAME,
	}, hub.Stack)
}

// taskAnswers lets the approval function answer the approval task it finds in
// the ledger. SendTaskSuccess and SendTaskFailure have no resource type and no
// condition key in the Service Authorization Reference: "*" is all IAM takes.
func taskAnswers() permission {
	return permission{
		sid:       "AnswerApprovalTasks",
		actions:   []string{"states:SendTaskSuccess", "states:SendTaskFailure"},
		resources: []resourceArn{anyResource},
		why:       whyTaskTokens,
	}
}
