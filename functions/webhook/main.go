// Command webhook is the Lambda function behind the URL GitHub delivers the
// webhooks of the apps' repositories to: it verifies each delivery's
// signature against the secret in Secrets Manager, and records the commits
// of each push in the ledger, as the push function does for CodeCommit.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/highwayhq/highway/shared/bus"
	"github.com/highwayhq/highway/shared/function"
	"github.com/highwayhq/highway/shared/github"
	"github.com/highwayhq/highway/shared/keyring"
	"github.com/highwayhq/highway/shared/ledger"
)

func main() {
	function.Main("webhook", run)
}

func run(ctx context.Context, rt *function.Runtime) error {
	secretID := os.Getenv(function.EnvWebhookSecret)
	if secretID == "" {
		return fmt.Errorf("%s must be set", function.EnvWebhookSecret)
	}
	secrets := secretsmanager.NewFromConfig(rt.AWS)
	secret, err := github.NewSecret(ctx, func(ctx context.Context) ([][]byte, error) {
		return keyring.Load(ctx, secrets, secretID)
	}, nil)
	if err != nil {
		return err
	}
	h := github.New(github.Config{
		Policy:  rt.Policy,
		Secret:  secret,
		Ledger:  ledger.NewDynamo(dynamodb.NewFromConfig(rt.AWS), rt.Table),
		Bus:     bus.NewEventBridge(eventbridge.NewFromConfig(rt.AWS), rt.Bus),
		Metrics: rt.Metrics,
	})
	function.Start(rt, h.Handle)
	return nil
}
