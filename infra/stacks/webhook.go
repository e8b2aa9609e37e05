package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/highwayhq/highway/shared/function"
	"github.com/highwayhq/highway/shared/github"
)

// The GitHub webhook: the apps built from GitHub push through it, as
// CodeCommit's apps push through the push function's rule.

// FunctionWebhook receives GitHub's webhook deliveries through its function
// URL and records the commits of each push.
const FunctionWebhook = "webhook"

// EnvWebhookSecret names, in the webhook function's environment, the secret
// GitHub signs deliveries with.
const EnvWebhookSecret = function.EnvWebhookSecret

// webhookConcurrency is the reserved concurrency of the webhook function,
// whose URL anyone can reach: a flood of requests runs at most this many at
// a time, and takes nothing from the account's other functions. A delivery
// takes well under a second; GitHub sends a repository's pushes one by one.
const webhookConcurrency = 5

// webhookTimeoutSeconds is the webhook function's timeout: GitHub gives up
// on a delivery after 10 seconds.
const webhookTimeoutSeconds = 10

// Why the webhook secret is not rotated by Secrets Manager, for cdk-nag.
const whyWebhookSecret = "GitHub holds a copy of the webhook secret, which Secrets Manager cannot update; rotation is manual and documented: put the new secret as current and the old one as previous, which the webhook function still accepts, set the new one in GitHub, then drop previous."

// newGitHubWebhook creates, when an app of the policy is built from GitHub,
// the function GitHub delivers its webhooks to, its URL (an output, with the
// secret's ARN), and the secret: 64 random letters and digits as
// {"current": secret}. Anyone can reach the URL, so the function runs with
// reserved concurrency; its role reads that secret alone, writes only commits
// and the claims of deliveries on the ledger, and puts only "Commit Recorded"
// on the bus.
func newGitHubWebhook(scope constructs.Construct, hub *Hub) error {
	if !hub.Policy.UsesGitHub() {
		return nil
	}
	secret := awssecretsmanager.NewSecret(scope, jsii.String("GitHubWebhookSecret"), &awssecretsmanager.SecretProps{
		SecretName:  jsii.String(WebhookSecretName(hub.Policy.Hub)),
		Description: jsii.String("Highway " + hub.Policy.Hub.Name + ": the secret GitHub signs webhook deliveries with, as {\"current\": secret, \"previous\": secret}."),
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			SecretStringTemplate: jsii.String("{}"),
			GenerateStringKey:    jsii.String("current"),
			PasswordLength:       jsii.Number(64),
			ExcludePunctuation:   jsii.Bool(true),
			IncludeSpace:         jsii.Bool(false),
		},
	})
	suppress(secret, false, rule("AwsSolutions-SMG4", whyWebhookSecret))
	fn, err := hub.Function(scope, FunctionWebhook, FunctionProps{
		Description: "Highway: records the pushes GitHub delivers to its webhook URL.",
		Timeout:     awscdk.Duration_Seconds(jsii.Number(webhookTimeoutSeconds)),
	})
	if err != nil {
		return err
	}
	fn.Node().DefaultChild().(awslambda.CfnFunction).SetReservedConcurrentExecutions(jsii.Number(webhookConcurrency))
	allow(fn, fn.Role(), []permission{
		ledgerItems(hub, "RecordPushes", github.LedgerActions(), github.LedgerPartitions()),
		ownEvents(hub, "AnnounceCommits", github.DetailTypes()),
	})
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("ReadWebhookSecret"),
		Actions:   jsii.Strings("secretsmanager:GetSecretValue"),
		Resources: jsii.Strings(*secret.SecretArn()),
	}))
	fn.AddEnvironment(jsii.String(EnvWebhookSecret), secret.SecretArn(), nil)
	// No IAM auth: GitHub signs each delivery (X-Hub-Signature-256), and the
	// function checks the signature in constant time before it reads the
	// body. (No rule of the cdk-nag packs Highway applies asks for IAM auth
	// on a URL.)
	url := fn.AddFunctionUrl(&awslambda.FunctionUrlOptions{AuthType: awslambda.FunctionUrlAuthType_NONE})
	awscdk.NewCfnOutput(scope, jsii.String("GitHubWebhookUrl"), &awscdk.CfnOutputProps{
		Description: jsii.String("The Payload URL of the GitHub webhooks of the apps built from GitHub (content type application/json, push events)."),
		Value:       url.Url(),
	})
	awscdk.NewCfnOutput(scope, jsii.String("GitHubWebhookSecretArn"), &awscdk.CfnOutputProps{
		Description: jsii.String("The secret to give those webhooks: its \"current\" value."),
		Value:       secret.SecretArn(),
	})
	return nil
}
