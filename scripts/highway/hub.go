package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"

	"github.com/highwayhq/highway/shared/function"
	"github.com/highwayhq/highway/shared/ledger"
)

// localHubFile is where the demo leaves its ledger, and where the commands
// find it when $HIGHWAY_TABLE names no deployed hub.
const localHubFile = "build/highway-local.json"

// hub is the hub a command reads and acts on: a deployed one, or the local
// one the demo left.
type hub struct {
	ledger ledger.Ledger
	// now is the hub's present: the clock for a deployed hub; for the local
	// one, the end of the scenario that wrote it, so that "the last 7 days"
	// are the scenario's.
	now func() time.Time
	// local is the local hub's file; empty for a deployed hub.
	local string
	// cfg is the AWS configuration of a deployed hub.
	cfg aws.Config
}

// openHub opens the deployed hub $HIGHWAY_TABLE names, with the caller's AWS
// credentials, or, when it is unset, the local hub the demo left, which it
// says on stderr.
func (c *cli) openHub(ctx context.Context) (*hub, error) {
	if table := os.Getenv(function.EnvTable); table != "" {
		cfg, err := deployedConfig(ctx)
		if err != nil {
			return nil, err
		}
		c.deployed = table
		return &hub{ledger: ledger.NewDynamo(dynamodb.NewFromConfig(cfg), table), now: c.now, cfg: cfg}, nil
	}
	f, now, err := c.openLocalHub()
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(c.errOut, "highway: the local hub %s (the demo's ledger, as of %s); set %s to use a deployed hub\n",
		c.localHub, now.UTC().Format("2006-01-02 15:04Z"), function.EnvTable)
	return &hub{ledger: f, now: func() time.Time { return now }, local: c.localHub}, nil
}

// openLocalHub opens the ledger file the demo left, and returns it with its
// present: when it was last written, by the clock of what wrote it. What the
// commands write to it is written at that time too.
func (c *cli) openLocalHub() (*ledger.File, time.Time, error) {
	if _, err := os.Stat(c.localHub); errors.Is(err, fs.ErrNotExist) {
		return nil, time.Time{}, badInput("no hub: set %s to a deployed hub's ledger table (with AWS_REGION and AWS credentials), or run make demo to leave a local hub in %s",
			function.EnvTable, c.localHub)
	}
	var now time.Time
	f, err := ledger.OpenFile(c.localHub, ledger.WithClock(func() time.Time { return now }))
	if err != nil {
		return nil, time.Time{}, badInput("the local hub: %v (make demo writes it again)", err)
	}
	if now = f.Written(); now.IsZero() {
		now = c.now()
	}
	return f, now, nil
}

// deployedConfig is the AWS configuration of the operator reaching a
// deployed hub. What it lacks is said in one sentence, naming what to set,
// and the SDK logs nothing.
func deployedConfig(ctx context.Context) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithLogger(logging.Nop{}))
	if err != nil {
		return aws.Config{}, badInput("%s names a deployed hub, but the AWS configuration does not load (%v): check AWS_PROFILE and AWS_CONFIG_FILE", function.EnvTable, err)
	}
	if cfg.Region == "" {
		return aws.Config{}, badInput("%s names a deployed hub, but no AWS region is set: set AWS_REGION to the hub's region", function.EnvTable)
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return aws.Config{}, badInput("%s names a deployed hub, but no AWS credentials were found: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or unset %s to use the local hub",
			function.EnvTable, function.EnvTable)
	}
	return cfg, nil
}

// refusedCredentials are the codes of AWS errors that refuse the caller's
// credentials themselves.
var refusedCredentials = []string{"UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException", "ExpiredToken", "InvalidClientTokenId"}

// deployedHubError says in one sentence what to set when err is the deployed
// hub's table missing or AWS refusing the credentials; other errors are
// returned as they are.
func deployedHubError(err error, table string) error {
	var op *smithy.OperationError
	var api smithy.APIError
	if err == nil || !errors.As(err, &api) {
		return err
	}
	var missing *dbtypes.ResourceNotFoundException
	switch {
	case errors.As(err, &missing) && errors.As(err, &op) && op.Service() == dynamodb.ServiceID:
		return badInput("the hub's ledger table %s does not exist in this account and region: set %s to the table the hub stack made, and AWS_REGION to its region",
			table, function.EnvTable)
	case slices.Contains(refusedCredentials, api.ErrorCode()):
		return badInput("AWS refused your credentials (%s): set AWS_PROFILE (or AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN) to a current identity", api.ErrorCode())
	}
	return err
}
