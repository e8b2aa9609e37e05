// Command platform writes the policy of a platform of a given size, built from
// the example policy's first app (see policytest.Build), to try Highway at the
// size of a real platform: `make synth-platform APPS=100` synthesizes it.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/policy/policytest"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "platform:", err)
		os.Exit(2)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("platform", flag.ContinueOnError)
	base := fs.String("base", "infra/highway.yaml", "the policy whose first app is copied")
	apps := fs.Int("apps", 100, "number of apps")
	central := fs.Int("central", -1, "apps delivered from one central CI account (default 60% of apps)")
	teams := fs.Int("teams", 20, "team accounts the other apps are spread over")
	out := fs.String("o", "", "file to write (default standard output)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %v", fs.Args())
	}
	if *central < 0 {
		*central = *apps * 6 / 10
	}
	p, err := policy.Load(*base)
	if err != nil {
		return err
	}
	p, err = policytest.Build(p, policytest.Platform{Apps: *apps, Central: *central, Teams: min(*teams, *apps-*central)})
	if err != nil {
		return err
	}
	data, err := p.Encode()
	if err != nil {
		return err
	}
	if *out == "" {
		_, err = os.Stdout.Write(data)
		return err
	}
	return os.WriteFile(*out, data, 0o644)
}
