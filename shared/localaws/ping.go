package localaws

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/function"
)

// LinkSecretAnswer is Secrets Manager's answer for the approval link secret,
// which approval and approvalrequest read at start.
const LinkSecretAnswer = `{"ARN":"arn:aws:secretsmanager:eu-west-1:111111111111:secret:highway-approval-links-AbCdEf","Name":"highway-approval-links",` +
	`"SecretString":"{\"current\":\"q7Vx2mR9tL4wZ8nK3pH6sB1cF5gJ0dY7eU2iO9aS4vQ8xT3w\"}","VersionId":"v-1"}`

// SecretAtStart is the call approval, approvalrequest and webhook make in
// main, before the runtime hands them any event: the secret that signs
// approval links, or GitHub's deliveries, read once per execution
// environment.
const SecretAtStart = "secretsmanager:GetSecretValue"

// Ping is what a function needs to answer its ping event,
// events/ping/<function>.json (events/ping/README.md says what each is), and
// what it answers: an event it decodes and answers without any AWS call, or
// with only those Calls names, for make bench's ping cold start and the test
// that holds each function to it.
type Ping struct {
	// Env is what the CDK app sets on the function beyond what every
	// function gets (localaws.Site.Install).
	Env []string
	// Secret is Secrets Manager's answer to the function's read at start,
	// for a function that reads one; SecretSample names the events/ file
	// that holds it instead.
	Secret, SecretSample string
	// Answer holds fragments of the function's answer.
	Answer []string
	// Calls are the AWS calls (Call.API) the function makes on its ping
	// because it has no path without them; nil for a function that answers
	// without any.
	Calls []string
}

// Pings holds every function's ping, by function.
var Pings = map[string]Ping{
	"approval": {
		Env: []string{function.EnvApprovalSecret + "=highway-approval-links",
			function.EnvApprovalStateMachine + "=arn:aws:states:eu-west-1:111111111111:stateMachine:highway-promotion"},
		Secret: LinkSecretAnswer,
		Answer: []string{`"statusCode":400`, "This link is incomplete or malformed."},
		Calls:  []string{SecretAtStart},
	},
	"approvalrequest": {
		Env: []string{function.EnvApprovalSecret + "=arn:aws:secretsmanager:eu-west-1:111111111111:secret:highway-approval-links-AbCdEf",
			function.EnvApprovalURL + "=https://k3v7q2xw5m4n6b8p1r9t0y2u4i6o8a0s.lambda-url.eu-west-1.on.aws/",
			function.EnvApprovalTopic + "=arn:aws:sns:eu-west-1:111111111111:highway-approvals"},
		Secret: LinkSecretAnswer,
		Answer: []string{`"approvalId":""`, `"status":""`},
		// The promotion's approval request is looked for by its digest.
		Calls: []string{SecretAtStart, "dynamodb:Query"},
	},
	"dora": {
		Answer: []string{`"app":"checkout","env":"prod","window":"30d"`, `"app":"storefront","env":"dev","window":"1d"`},
		// Each environment's checkpoint and its deployments, promotions and
		// incidents since, then its new checkpoint.
		Calls: []string{"dynamodb:Query", "dynamodb:PutItem"},
	},
	"drift": {
		Env:    []string{function.EnvDriftQueue + "=https://sqs.eu-west-1.amazonaws.com/111111111111/highway-DriftQueue"},
		Answer: []string{`{"batchItemFailures":null}`},
	},
	"gate": {
		Answer: []string{`"outcome":"ignored"`, `project \"checkout-docs\" is gated by no app in the policy`},
	},
	"gatejob": {
		Answer: []string{`"outcome":"ignored"`, `claims account \"333333333333\", where no app of the policy has gated pipelines`},
	},
	"heatmap": {
		Answer: []string{`"## Highway deployments\n`},
	},
	"promote": {
		Env:    []string{function.EnvApprovalStateMachine + "=arn:aws:states:eu-west-1:111111111111:stateMachine:highway-promotion"},
		Answer: []string{`"outcome":"ignored"`, "service/shop/cart deploys no environment of the policy"},
	},
	"push": {
		Answer: []string{`"outcome":"ignored"`, `repository \"platform-docs\" belongs to no app in the policy`},
	},
	"respond": {
		Answer: []string{`"outcome":"unmatched","alarm":"search-prod-5xx","state":"ALARM"`},
	},
	"webhook": {
		Env:          []string{function.EnvWebhookSecret + "=highway/github-webhook"},
		SecretSample: "secretsmanager-github-webhook.json",
		Answer:       []string{`"statusCode":401`, `no X-Hub-Signature-256: give the webhook Highway's secret`, `\"outcome\":\"refused\"`},
		Calls:        []string{SecretAtStart},
	},
}

// DeployPing prepares fn, built as it ships, on a site of its own to answer
// its ping: the environment and Secrets Manager answer Pings gives it. It
// returns the site, the deployment and the ping event.
func DeployPing(tb testing.TB, fn string) (*Site, *Deployment, []byte) {
	tb.Helper()
	p, ok := Pings[fn]
	if !ok {
		tb.Fatalf("no ping for %s in localaws.Pings", fn)
	}
	event, err := os.ReadFile(filepath.Join(moduleRoot(tb), "events", "ping", fn+".json"))
	if err != nil {
		tb.Fatal(err)
	}
	site := NewSite(tb)
	d := site.Deploy(tb, fn)
	d.Env = append(d.Env, p.Env...)
	secret := p.Secret
	if p.SecretSample != "" {
		secret = string(SampleFile(tb, p.SecretSample))
	}
	if secret != "" {
		site.AWS.On("GetSecretValue", awsfake.JSON(200, secret))
	}
	return site, d, event
}
