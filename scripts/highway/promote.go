package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/highwayhq/highway/shared/promotion"
)

var promoteCommand = command{
	name:     "promote",
	synopsis: "promote --app A --env E --digest sha256:DIGEST [--policy FILE]",
	about: `ask for a new attempt at a promotion whose approval expired or was
rejected, or whose workflow failed; refuses quarantined and ungated artifacts`,
	details: `The attempt is recorded in the hub's ledger; the promote function starts it
at its next tick, with a new approval request where the environment needs
one (the local hub records it, and runs no function). Asking while an attempt
is in flight asks nothing new. Quarantined artifacts, artifacts without a
passed gate decision, artifacts not deployed to the environment before, and
artifacts promoted there already are refused (exit 1); bad flags, an app or
environment the policy does not deploy, exit 2.
`,
	define: func(fs *flag.FlagSet) action {
		policyFile := fs.String("policy", defaultPolicy, "the policy `FILE`")
		app := fs.String("app", "", "the `app` (required)")
		env := fs.String("env", "", "the `environment` to promote into (required)")
		digest := fs.String("digest", "", "the artifact's `digest`, sha256:... (required)")
		return func(ctx context.Context, c *cli, _ []string) error {
			return c.promote(ctx, *policyFile, *app, *env, *digest)
		}
	},
}

// promote asks for a new attempt at promoting digest into app's env
// (promotion.Promoter.RequestAgain), in the hub's ledger.
func (c *cli) promote(ctx context.Context, policyFile, app, env, digest string) error {
	if app == "" || env == "" || digest == "" {
		return badInput("--app, --env and --digest are required (highway promote --help says more)")
	}
	if !digestRef.MatchString(digest) {
		return badInput("--digest %q is not an artifact digest (sha256: and 64 hex digits)", digest)
	}
	p, err := loadPolicy(policyFile)
	if err != nil {
		return err
	}
	a, ok := p.App(app)
	if !ok {
		return badInput("app %q is not in %s", app, policyFile)
	}
	if e, ok := a.Environment(env); !ok || e.Deploy == nil {
		return badInput("app %s has no environment %q that Highway deploys in %s", a.Name, env, policyFile)
	}
	h, err := c.openHub(ctx)
	if err != nil {
		return err
	}
	// Recording a request needs the ledger alone: no bus, deployer or workflow.
	pr, created, err := promotion.New(p, h.ledger, nil, nil, nil, "", promotion.WithClock(h.now)).RequestAgain(ctx, a.Name, env, digest)
	if refused(err) {
		return fmt.Errorf("promotion of %s to %s/%s refused: %w", digest, a.Name, env, err)
	}
	if err != nil {
		return err
	}
	if !created {
		fmt.Fprintf(c.out, "%s/%s: promotion %s of %s is %s already: nothing new asked\n", pr.App, pr.Env, pr.ID, pr.Digest, pr.Status)
		return nil
	}
	when := "at its next tick"
	if pr.NotBefore.After(pr.At) {
		when = "once its soak ends, at " + pr.NotBefore.UTC().Format("2006-01-02 15:04Z")
	}
	fmt.Fprintf(c.out, "%s/%s: promotion %s of %s requested; the promote function starts it %s\n", pr.App, pr.Env, pr.ID, pr.Digest, when)
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
