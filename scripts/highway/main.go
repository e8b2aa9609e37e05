// Command highway is Highway's local command: it runs the functions' handlers
// in-process, against the in-memory ledger and the local router, so the whole
// flow can be seen on a laptop without an AWS account.
//
//	highway demo [-events DIR] [-policy FILE]
//	highway gate eval --app NAME [--junit F]... [--sarif F]... [--coverage F] [--build-event F] [--json]
//	highway approve APPROVAL-ID --as EMAIL
//	highway reject APPROVAL-ID --as EMAIL --reason TEXT
//	highway promote --app A --env E --digest sha256:DIGEST
//	highway nag [DIR]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/highwayhq/highway/shared/approval"
)

const usage = `usage: highway <command> [flags]

commands:
  demo [-html FILE]
          replay the sample scenario from events/ in-process and print the timeline
  gate eval --app NAME [--policy FILE] [--junit F]... [--sarif F]... [--coverage F] [--build-event F] [--json]
          judge report files with an app's gate; exit 0 pass, 1 fail, 2 bad input or policy
  approve APPROVAL-ID --as EMAIL
  reject  APPROVAL-ID --as EMAIL --reason TEXT
          decide a production approval as the signed links do, against the hub
          ($HIGHWAY_TABLE, $HIGHWAY_TOPIC, your AWS credentials)
  quarantine sha256:DIGEST --reason TEXT
          never promote an artifact again ($HIGHWAY_TABLE, $HIGHWAY_BUS)
  promote --app A --env E --digest sha256:DIGEST [--policy FILE]
          ask for a new attempt at a promotion whose approval expired or was
          rejected, or whose workflow failed; refuses quarantined and ungated
          artifacts ($HIGHWAY_TABLE)
  drift report [--json]
          the latest drift report of every stack and environment ($HIGHWAY_TABLE)
  incidents [--open] [--since 168h] [--policy FILE] [--json]
          the incidents of the policy's environments, with time to restore ($HIGHWAY_TABLE)
  timeline <commit SHA|sha256:DIGEST>
          the causal chain of a commit or an artifact: build, gate decision,
          artifact, promotions, approvals, deployments, incidents, remediations
          ($HIGHWAY_TABLE)
  dora [--app A] [--env E] [--policy FILE] [--html FILE]
          the DORA metrics of the policy's environments over 1, 7 and 30 days,
          each with its performance band ($HIGHWAY_TABLE)
  nag     summarize the cdk-nag reports of a synth (default folder cdk.out); fail on errors
`

func main() {
	// Handlers log as they do in Lambda; here only warnings (ignored events) matter.
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	err := run(context.Background(), os.Args[1:], os.Stdout)
	var code exitCode
	if err != nil && !errors.As(err, &code) {
		fmt.Fprintln(os.Stderr, "highway:", err)
	}
	os.Exit(exitStatus(err))
}

// exitStatus is the process's exit status for run's error: 0 on success, the
// status an exitCode carries (a failing verdict is 1), 2 for bad input or a bad
// policy, 1 for anything else.
func exitStatus(err error) int {
	var code exitCode
	switch {
	case err == nil:
		return 0
	case errors.As(err, &code):
		return int(code)
	case errors.Is(err, errBadInput):
		return 2
	}
	return 1
}

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("no command\n%s", usage)
	}
	switch args[0] {
	case "demo":
		fs := flag.NewFlagSet("demo", flag.ContinueOnError)
		events := fs.String("events", "events", "folder of the scenario's sample events")
		policyFile := fs.String("policy", "infra/highway.yaml", "policy file")
		htmlFile := fs.String("html", "", "also write the DORA page of the scenario to this file")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return demo(ctx, out, *policyFile, *events, *htmlFile)
	case "gate":
		if len(args) < 2 || args[1] != "eval" {
			return fmt.Errorf("%w: usage: highway gate eval --app NAME [flags]", errBadInput)
		}
		return gateEval(out, args[2:], time.Now())
	case "approve", "reject":
		decide, err := awsDecider(ctx)
		if err != nil {
			return err
		}
		return decideCmd(ctx, out, approval.Action(args[0]), args[1:], decide)
	case "quarantine":
		q, err := awsQuarantine(ctx)
		if err != nil {
			return err
		}
		return quarantineCmd(ctx, out, args[1:], q)
	case "promote":
		return promoteCmd(ctx, out, args[1:], hubLedger)
	case "drift":
		return driftCmd(ctx, out, args[1:])
	case "incidents":
		return incidentsCmd(ctx, out, args[1:], time.Now())
	case "dora":
		return doraCmd(ctx, out, args[1:], time.Now())
	case "timeline":
		return timelineCmd(ctx, out, args[1:])
	case "nag":
		dir := "cdk.out"
		if len(args) > 1 {
			dir = args[1]
		}
		return nag(out, dir)
	case "help", "-h", "--help":
		_, err := io.WriteString(out, usage)
		return err
	}
	return fmt.Errorf("unknown command %q\n%s", args[0], usage)
}
