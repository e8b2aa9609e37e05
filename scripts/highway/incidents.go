package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
)

var incidentsCommand = command{
	name:     "incidents",
	synopsis: "incidents [--open] [--since 168h] [--policy FILE] [--json]",
	about:    "the incidents of the policy's environments, with their time to restore",
	define: func(fs *flag.FlagSet) action {
		policyFile := fs.String("policy", defaultPolicy, "the policy `FILE`")
		open := fs.Bool("open", false, "only the incidents still open, whenever they opened")
		since := fs.Duration("since", 7*24*time.Hour, "how far back to list incidents")
		asJSON := fs.Bool("json", false, "print the incidents as a JSON list")
		return func(ctx context.Context, c *cli, _ []string) error {
			if *since <= 0 {
				return badInput("--since %v: want a positive duration, such as 168h", *since)
			}
			p, err := loadPolicy(*policyFile)
			if err != nil {
				return err
			}
			h, err := c.openHub(ctx)
			if err != nil {
				return err
			}
			now := h.now()
			incs, err := listIncidents(ctx, h.ledger, p, *open, now.Add(-*since), now)
			if err != nil {
				return err
			}
			return writeIncidents(c.out, incs, *asJSON, now)
		}
	},
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
		return writeJSON(out, nonNil(incs))
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
