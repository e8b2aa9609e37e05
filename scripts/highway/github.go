package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/highwayhq/highway/shared/github"
	"github.com/highwayhq/highway/shared/keyring"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
)

// The samples of GitHub's side of the demo, in events/: the push GitHub
// delivers to the webhook function's URL (signed), and Secrets Manager's
// answer holding the secret it is signed with.
const (
	githubPushSample   = "github-push.json"
	githubSecretSample = "secretsmanager-github-webhook.json"
)

// githubSamples are the delivery the demo plays and the keys that verify it.
type githubSamples struct {
	push events.LambdaFunctionURLRequest
	keys [][]byte
}

// loadGitHubSamples reads the sample delivery and the secret from dir.
func loadGitHubSamples(dir string) (githubSamples, error) {
	var s githubSamples
	raw, err := os.ReadFile(filepath.Join(dir, githubPushSample))
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(raw, &s.push); err != nil {
		return s, fmt.Errorf("%s: %w", githubPushSample, err)
	}
	raw, err = os.ReadFile(filepath.Join(dir, githubSecretSample))
	if err != nil {
		return s, err
	}
	var answer struct {
		SecretString *string
		SecretBinary []byte
	}
	if err := json.Unmarshal(raw, &answer); err != nil {
		return s, fmt.Errorf("%s: %w", githubSecretSample, err)
	}
	out := &secretsmanager.GetSecretValueOutput{SecretString: answer.SecretString, SecretBinary: answer.SecretBinary}
	s.keys, err = keyring.Load(context.Background(), secretAnswer{out}, "highway/github-webhook")
	return s, err
}

// secretAnswer answers GetSecretValue from a sample.
type secretAnswer struct {
	out *secretsmanager.GetSecretValueOutput
}

func (a secretAnswer) GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	return a.out, nil
}

// newWebhook is the webhook function's handler, over the ledger l, on the
// scenario's clock; it publishes through the local bus.
func (rt *local) newWebhook(p *policy.Policy, l ledger.Ledger, s githubSamples) (*github.Webhook, error) {
	now := func() time.Time { return rt.clock }
	secret, err := github.NewSecret(context.Background(), func(context.Context) ([][]byte, error) { return s.keys, nil }, now)
	if err != nil {
		return nil, err
	}
	return github.New(github.Config{Policy: p, Secret: secret, Ledger: l, Bus: rt, Metrics: rt.metrics, Now: now}), nil
}

// githubPush is GitHub delivering the sample push to the webhook function's
// URL, signed with the webhook's secret, as it does when it is pushed to and
// again when someone presses Redeliver. A delivery answered 500 is not
// retried by GitHub: a person redelivers it.
func (rt *local) githubPush(ctx context.Context) error {
	if rt.webhook == nil {
		return fmt.Errorf("no webhook: the policy has no app on GitHub, or the events folder no %s and %s", githubPushSample, githubSecretSample)
	}
	ev := rt.github.push
	pushed := time.UnixMilli(ev.RequestContext.TimeEpoch).UTC()
	if pushed.After(rt.clock) {
		rt.clock = pushed
	}
	fmt.Fprintf(rt.out, "  GitHub posts the %s delivery %s to the webhook's URL, signed (%s)\n",
		ev.Headers["x-github-event"], ev.Headers["x-github-delivery"], github.HeaderSignature)
	for attempt := 1; ; attempt++ {
		rt.seq++
		ctx := lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: fmt.Sprintf("local-request-%d", rt.seq)})
		resp, err := rt.webhook.Handle(ctx, ev)
		if err != nil {
			return err
		}
		fmt.Fprintf(rt.out, "  webhook → HTTP %d %s\n", resp.StatusCode, resp.Body)
		if resp.StatusCode < 500 || attempt >= max(rt.delivery.attempts, 1) {
			break
		}
		fmt.Fprintf(rt.out, "  someone presses Redeliver in the webhook's Recent Deliveries\n")
	}
	return rt.drain(ctx)
}
