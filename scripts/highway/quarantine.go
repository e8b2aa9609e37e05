package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/highwayhq/highway/shared/bus"
	"github.com/highwayhq/highway/shared/function"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/promotion"
)

var quarantineCommand = command{
	name:     "quarantine",
	synopsis: "quarantine sha256:DIGEST --reason TEXT",
	about: `never promote an artifact again, wherever it stands (on a deployed hub
also $HIGHWAY_BUS, where it is announced)`,
	minArgs: 1, maxArgs: 1,
	define: func(fs *flag.FlagSet) action {
		reason := fs.String("reason", "", "why (required)")
		return func(ctx context.Context, c *cli, args []string) error {
			digest := args[0]
			if !digestRef.MatchString(digest) {
				return badInput("%q is not an artifact digest: want sha256: and 64 hex digits", digest)
			}
			if strings.TrimSpace(*reason) == "" {
				return badInput("a quarantine needs --reason")
			}
			name := os.Getenv(function.EnvBus)
			if os.Getenv(function.EnvTable) != "" && name == "" {
				return badInput("set %s to the hub's event bus, beside %s", function.EnvBus, function.EnvTable)
			}
			h, err := c.openHub(ctx)
			if err != nil {
				return err
			}
			var b bus.Publisher = bus.DryRun{W: c.out, Max: 160}
			if h.local == "" {
				b = bus.NewEventBridge(eventbridge.NewFromConfig(h.cfg), name)
			}
			p := promotion.New(nil, h.ledger, b, nil, nil, "", promotion.WithClock(h.now))
			return quarantine(ctx, c, h.ledger, p, strings.ToLower(digest), *reason)
		}
	},
}

// quarantine quarantines the artifact of digest with p, once: a digest the
// ledger has no artifact of is bad input, and one quarantined already is left
// as it is.
func quarantine(ctx context.Context, c *cli, l ledger.Ledger, p *promotion.Promoter, digest, reason string) error {
	recs, err := l.ByDigest(ctx, digest)
	if err != nil {
		return err
	}
	var artifacts, quarantined []*ledger.Artifact
	for _, r := range recs {
		if a, ok := r.(*ledger.Artifact); ok {
			artifacts = append(artifacts, a)
			if a.Quarantined {
				quarantined = append(quarantined, a)
			}
		}
	}
	switch {
	case len(artifacts) == 0:
		return badInput("the hub's ledger has no artifact %s: nothing to quarantine", digest)
	case len(quarantined) == len(artifacts):
		fmt.Fprintf(c.out, "%s was quarantined already: %s\n", digest, quarantined[0].Reason)
		return nil
	}
	if err := p.Quarantine(ctx, digest, "quarantined by hand: "+reason); err != nil {
		return err
	}
	fmt.Fprintf(c.out, "%s is quarantined: it will not be promoted again\n", digest)
	return nil
}
