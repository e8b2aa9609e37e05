package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/highwayhq/highway/shared/awsconfig"
	"github.com/highwayhq/highway/shared/function"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
)

// hubLedger is the hub's ledger, $HIGHWAY_TABLE, with the caller's AWS
// credentials.
func hubLedger(ctx context.Context) (ledger.Ledger, error) {
	table := os.Getenv(function.EnvTable)
	if table == "" {
		return nil, fmt.Errorf("%w: set %s to the hub's ledger table", errBadInput, function.EnvTable)
	}
	cfg, err := awsconfig.Load(ctx, awsconfig.Options{})
	if err != nil {
		return nil, err
	}
	return ledger.NewDynamo(dynamodb.NewFromConfig(cfg), table), nil
}

// incidentsCmd is `highway incidents [--open] [--since D] [--json]`: the
// incidents of every app and environment of the policy that opened within
// --since, or those still open.
func incidentsCmd(ctx context.Context, out io.Writer, args []string, now time.Time) error {
	fs := flag.NewFlagSet("incidents", flag.ContinueOnError)
	fs.SetOutput(out)
	policyFile := fs.String("policy", "infra/highway.yaml", "policy file")
	open := fs.Bool("open", false, "only the incidents still open, whenever they opened")
	since := fs.Duration("since", 7*24*time.Hour, "how far back to list incidents")
	asJSON := fs.Bool("json", false, "print the incidents as JSON")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errBadInput, err)
	}
	p, err := policy.Load(*policyFile)
	if err != nil {
		return fmt.Errorf("%w: %v", errBadInput, err)
	}
	l, err := hubLedger(ctx)
	if err != nil {
		return err
	}
	incs, err := listIncidents(ctx, l, p, *open, now.Add(-*since), now)
	if err != nil {
		return err
	}
	return writeIncidents(out, incs, *asJSON, now)
}

// listIncidents returns the open incidents, or those of the policy's
// environments that opened in [from, to], oldest first.
func listIncidents(ctx context.Context, l ledger.Ledger, p *policy.Policy, open bool, from, to time.Time) ([]*ledger.Incident, error) {
	if open {
		return l.OpenIncidents(ctx)
	}
	var all []*ledger.Incident
	for _, a := range p.Apps {
		for _, e := range a.Environments {
			incs, err := l.Incidents(ctx, a.Name, e.Name, from, to.Add(time.Nanosecond))
			if err != nil {
				return nil, err
			}
			all = append(all, incs...)
		}
	}
	slices.SortStableFunc(all, func(a, b *ledger.Incident) int { return a.At.Compare(b.At) })
	return all, nil
}

// writeIncidents prints incidents, one line each, with their time to restore
// (or how long they have been open at now) and the deployment blamed; or JSON.
func writeIncidents(out io.Writer, incs []*ledger.Incident, asJSON bool, now time.Time) error {
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(incs)
	}
	if len(incs) == 0 {
		_, err := fmt.Fprintln(out, "no incidents")
		return err
	}
	for _, inc := range incs {
		state := "OPEN for " + now.Sub(inc.At).Round(time.Second).String()
		if !inc.ResolvedAt.IsZero() {
			state = "resolved, time to restore " + inc.ResolvedAt.Sub(inc.At).Round(time.Second).String()
		}
		blame := "no deployment blamed"
		if inc.DeploymentID != "" {
			blame = fmt.Sprintf("blamed on %s (%s)", inc.DeploymentID, inc.Digest)
		}
		fmt.Fprintf(out, "%s  %s/%s  %s  opened %s  %s  %s\n", inc.ID, inc.App, inc.Env, alarmName(inc.Alarm),
			inc.At.UTC().Format("2006-01-02 15:04:05Z"), state, blame)
	}
	return nil
}

// alarmName is the name in an alarm ARN (arn:...:alarm:NAME), or s.
func alarmName(s string) string {
	if i := strings.LastIndex(s, ":alarm:"); i >= 0 {
		return s[i+len(":alarm:"):]
	}
	return s
}
