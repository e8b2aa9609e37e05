package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/highwayhq/highway/shared/awsconfig"
	"github.com/highwayhq/highway/shared/bus"
	"github.com/highwayhq/highway/shared/function"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/promotion"
)

// quarantineCmd is `highway quarantine DIGEST --reason TEXT`: the artifact is
// never promoted again, wherever it stands.
func quarantineCmd(ctx context.Context, out io.Writer, args []string, quarantine func(ctx context.Context, digest, reason string) error) error {
	fs := flag.NewFlagSet("quarantine", flag.ContinueOnError)
	fs.SetOutput(out)
	reason := fs.String("reason", "", "why (required)")
	digest, rest := "", args
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		digest, rest = args[0], args[1:]
	}
	if err := fs.Parse(rest); err != nil {
		return fmt.Errorf("%w: %v", errBadInput, err)
	}
	if !strings.HasPrefix(digest, "sha256:") || fs.NArg() > 0 || strings.TrimSpace(*reason) == "" {
		return fmt.Errorf("%w: usage: highway quarantine sha256:DIGEST --reason TEXT", errBadInput)
	}
	if err := quarantine(ctx, digest, "quarantined by hand: "+*reason); err != nil {
		return err
	}
	fmt.Fprintf(out, "%s is quarantined: it will not be promoted again\n", digest)
	return nil
}

// awsQuarantine quarantines in the deployed hub: the ledger table and bus named
// by HIGHWAY_TABLE and HIGHWAY_BUS, with the caller's AWS credentials.
func awsQuarantine(ctx context.Context) (func(ctx context.Context, digest, reason string) error, error) {
	table, name := os.Getenv(function.EnvTable), os.Getenv(function.EnvBus)
	if table == "" || name == "" {
		return nil, fmt.Errorf("%w: set %s and %s to the hub's ledger table and event bus", errBadInput, function.EnvTable, function.EnvBus)
	}
	cfg, err := awsconfig.Load(ctx, awsconfig.Options{})
	if err != nil {
		return nil, err
	}
	p := promotion.New(nil, ledger.NewDynamo(dynamodb.NewFromConfig(cfg), table), bus.NewEventBridge(eventbridge.NewFromConfig(cfg), name), nil, nil, "")
	return p.Quarantine, nil
}
