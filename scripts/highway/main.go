// Command highway is Highway's local command: it runs the functions' handlers
// in-process, against the in-memory ledger and the local router, so the whole
// flow can be seen on a laptop without an AWS account.
//
//	highway demo [-events DIR] [-policy FILE]
//	highway nag [DIR]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
)

const usage = `usage: highway <command> [flags]

commands:
  demo    replay the sample scenario from events/ in-process and print the timeline
  nag     summarize the cdk-nag reports of a synth (default folder cdk.out); fail on errors
`

func main() {
	// Handlers log as they do in Lambda; here only warnings (ignored events) matter.
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "highway:", err)
		os.Exit(1)
	}
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
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return demo(ctx, out, *policyFile, *events)
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
