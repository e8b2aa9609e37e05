package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/promotion"
)

const promoteUsage = `usage: highway promote --app A --env E --digest sha256:DIGEST [--policy FILE]

Asks for a new attempt at promoting an artifact into an environment, after one
that ended without deploying it: its approval expired or was rejected, its
workflow failed, its preconditions refused it. The attempt is recorded in the
hub's ledger ($HIGHWAY_TABLE, with your AWS credentials); the promote function
starts it at its next tick, with a new approval request where the environment
needs one. Asking while an attempt is in flight asks nothing new. Quarantined
artifacts, artifacts without a passed gate decision, artifacts not deployed to
the environment before, and artifacts promoted there already are refused
(exit 1); bad flags, an app or environment the policy does not deploy, exit 2.

`

// promoteCmd is `highway promote --app A --env E --digest D`: an operator asks
// for a new attempt at a promotion (promotion.Promoter.RequestAgain) in the
// ledger open returns.
func promoteCmd(ctx context.Context, out io.Writer, args []string, open func(context.Context) (ledger.Ledger, error)) error {
	fs := flag.NewFlagSet("promote", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, promoteUsage)
		fs.PrintDefaults()
	}
	policyFile := fs.String("policy", "infra/highway.yaml", "policy file")
	app := fs.String("app", "", "the app (required)")
	env := fs.String("env", "", "the environment to promote into (required)")
	digest := fs.String("digest", "", "the artifact's digest, sha256:... (required)")
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: %v", errBadInput, err)
	}
	if *app == "" || *env == "" || *digest == "" || fs.NArg() > 0 {
		return fmt.Errorf("%w: usage: highway promote --app A --env E --digest sha256:DIGEST [--policy FILE]", errBadInput)
	}
	if !strings.HasPrefix(*digest, "sha256:") {
		return fmt.Errorf("%w: --digest %q is not an artifact digest (sha256:...)", errBadInput, *digest)
	}
	p, err := policy.Load(*policyFile)
	if err != nil {
		return fmt.Errorf("%w: %v", errBadInput, err)
	}
	a, ok := p.App(*app)
	if !ok {
		return fmt.Errorf("%w: app %q is not in %s", errBadInput, *app, *policyFile)
	}
	if e, ok := a.Environment(*env); !ok || e.Deploy == nil {
		return fmt.Errorf("%w: app %s has no environment %q that Highway deploys in %s", errBadInput, a.Name, *env, *policyFile)
	}
	l, err := open(ctx)
	if err != nil {
		return err
	}
	// Recording a request needs the ledger alone: no bus, deployer or workflow.
	pr, created, err := promotion.New(p, l, nil, nil, nil, "").RequestAgain(ctx, a.Name, *env, *digest)
	if refused(err) {
		return fmt.Errorf("promotion of %s to %s/%s refused: %w", *digest, a.Name, *env, err)
	}
	if err != nil {
		return err
	}
	if !created {
		fmt.Fprintf(out, "%s/%s: promotion %s of %s is %s already: nothing new asked\n", pr.App, pr.Env, pr.ID, pr.Digest, pr.Status)
		return nil
	}
	when := "at its next tick"
	if pr.NotBefore.After(pr.At) {
		when = "once its soak ends, at " + pr.NotBefore.UTC().Format("2006-01-02 15:04Z")
	}
	fmt.Fprintf(out, "%s/%s: promotion %s of %s requested; the promote function starts it %s\n", pr.App, pr.Env, pr.ID, pr.Digest, when)
	return nil
}

// refused reports whether err is RequestAgain refusing the artifact, not
// failing to answer.
func refused(err error) bool {
	for _, r := range []error{promotion.ErrQuarantined, promotion.ErrUngated, promotion.ErrUnverified, promotion.ErrPromoted} {
		if errors.Is(err, r) {
			return true
		}
	}
	return false
}
