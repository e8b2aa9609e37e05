package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/timeline"
)

// timelineCmd is `highway timeline <commit|sha256:digest>`: the causal chain
// of a commit or an artifact, from the hub's ledger.
func timelineCmd(ctx context.Context, out io.Writer, args []string) error {
	if len(args) != 1 || args[0] == "" {
		return fmt.Errorf("%w: usage: highway timeline <commit SHA|sha256:DIGEST>", errBadInput)
	}
	l, err := hubLedger(ctx)
	if err != nil {
		return err
	}
	recs, err := chain(ctx, l, args[0])
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		return fmt.Errorf("%w: the ledger holds nothing of %s", errBadInput, args[0])
	}
	return timeline.Write(out, recs)
}

// chain is everything the ledger holds of a commit or a digest and of what
// links them: a commit's records and those of the artifacts built from it
// (promotions, approvals, deployments, incidents, remediations), or a
// digest's records and those of the commit it was built from; each record
// once, oldest first.
func chain(ctx context.Context, l ledger.Ledger, ref string) ([]ledger.Record, error) {
	var (
		out     []ledger.Record
		seen    = map[string]bool{}
		commits []string
		digests []string
	)
	add := func(recs []ledger.Record) {
		for _, r := range recs {
			h := r.RecordHeader()
			key := fmt.Sprintf("%s|%s|%s|%d", h.Kind, h.ID, h.Commit, h.At.UnixNano())
			if seen[key] {
				continue
			}
			seen[key] = true
			out = append(out, r)
			if a, ok := r.(*ledger.Artifact); ok {
				if !slices.Contains(digests, a.Digest) {
					digests = append(digests, a.Digest)
				}
				if !slices.Contains(commits, a.Commit) {
					commits = append(commits, a.Commit)
				}
			}
		}
	}
	if strings.HasPrefix(ref, "sha256:") {
		digests = append(digests, ref)
	} else {
		commits = append(commits, ref)
	}
	for i, j := 0, 0; i < len(commits) || j < len(digests); {
		if i < len(commits) {
			recs, err := l.ByCommit(ctx, commits[i])
			if err != nil {
				return nil, err
			}
			add(recs)
			i++
			continue
		}
		recs, err := l.ByDigest(ctx, digests[j])
		if err != nil {
			return nil, err
		}
		add(recs)
		j++
	}
	slices.SortStableFunc(out, func(a, b ledger.Record) int { return a.RecordHeader().At.Compare(b.RecordHeader().At) })
	return out, nil
}
