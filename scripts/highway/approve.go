package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/highwayhq/highway/shared/approval"
	"github.com/highwayhq/highway/shared/approval/tasktoken"
	"github.com/highwayhq/highway/shared/awsconfig"
	"github.com/highwayhq/highway/shared/function"
	"github.com/highwayhq/highway/shared/ledger"
)

// decider decides an approval request, as the approval links do.
type decider func(ctx context.Context, approvalID, approver string, action approval.Action, reason string) (approval.Result, error)

// decideCmd is `highway approve ID --as EMAIL` and `highway reject ID --as
// EMAIL --reason TEXT`: an operator's decision, recorded and acted on like a
// link's, without the link (the local operator holds AWS credentials already).
func decideCmd(ctx context.Context, out io.Writer, action approval.Action, args []string, decide decider) error {
	fs := flag.NewFlagSet(string(action), flag.ContinueOnError)
	fs.SetOutput(out)
	as := fs.String("as", os.Getenv("HIGHWAY_APPROVER"), "the approver deciding, as the policy lists them (default $HIGHWAY_APPROVER)")
	reason := fs.String("reason", "", "why (required to reject)")
	id, rest := "", args
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		id, rest = args[0], args[1:]
	}
	if err := fs.Parse(rest); err != nil {
		return fmt.Errorf("%w: %v", errBadInput, err)
	}
	if id == "" || fs.NArg() > 0 || *as == "" {
		return fmt.Errorf("%w: usage: highway %s APPROVAL-ID --as EMAIL [--reason TEXT]", errBadInput, action)
	}
	if action == approval.ActionReject && strings.TrimSpace(*reason) == "" {
		return fmt.Errorf("%w: a rejection needs --reason", errBadInput)
	}
	res, err := decide(ctx, id, *as, action, *reason)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s/%s promotion %s: %s (%d of %d approvals: %s)\n", res.App, res.Env, res.PromotionID, res.Status,
		len(res.Approved), res.Quorum, strings.Join(res.Approved, ", "))
	return nil
}

// awsDecider decides against the deployed hub: the ledger table, Step
// Functions and the notification topic named by HIGHWAY_TABLE and
// HIGHWAY_TOPIC, with the caller's AWS credentials.
func awsDecider(ctx context.Context) (decider, error) {
	table, topic := os.Getenv(function.EnvTable), os.Getenv(function.EnvTopic)
	if table == "" || topic == "" {
		return nil, fmt.Errorf("%w: set %s and %s to the hub's ledger table and notification topic", errBadInput, function.EnvTable, function.EnvTopic)
	}
	cfg, err := awsconfig.Load(ctx, awsconfig.Options{})
	if err != nil {
		return nil, err
	}
	a := approval.New(ledger.NewDynamo(dynamodb.NewFromConfig(cfg), table), tasktoken.Sender{API: sfn.NewFromConfig(cfg)}, sns.NewFromConfig(cfg), topic)
	return a.Decide, nil
}
