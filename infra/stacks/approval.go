package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// The approval of a promotion: the key that signs approval links, and the
// function behind the URL approvers open.

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

// newApproval creates the function people's browsers reach through its URL,
// without AWS credentials, when they open an approval link. It checks the link,
// records the vote, and answers the waiting task once the quorum approves or
// anyone rejects. Its URL is an output.
func newApproval(scope constructs.Construct, hub *Hub, secret awssecretsmanager.Secret) (awslambda.FunctionUrl, error) {
	fn, err := hub.Function(scope, FunctionApproval, FunctionProps{
		Description: "Highway: serves signed approval links and answers the promotion waiting for them.",
	})
	if err != nil {
		return nil, err
	}
	hub.grantDecisions(fn)
	grantApprovalKey(fn, secret)
	allow(fn, fn.Role(), []permission{taskAnswers()})
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

// taskAnswers lets the approval function answer the approval task it finds in
// the ledger.
func taskAnswers() permission {
	return permission{
		sid:       "AnswerApprovalTasks",
		actions:   []string{"states:SendTaskSuccess", "states:SendTaskFailure"},
		resources: []resourceArn{anyResource},
		why:       whyTaskTokens,
	}
}
