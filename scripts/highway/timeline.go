package main

import (
	"context"
	"flag"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/timeline"
)

var timelineCommand = command{
	name:     "timeline",
	synopsis: "timeline <commit SHA|sha256:DIGEST>",
	about: `the causal chain of a commit or an artifact: build, gate decision,
artifact, promotions, approvals, deployments, incidents, remediations`,
	details: `A commit is its SHA, 7 to 40 hex digits; the local hub finds a commit by
the start of its SHA, a deployed hub by the whole of it. An artifact is its
digest, sha256: and 64 hex digits.
`,
	minArgs: 1, maxArgs: 1,
	define: func(*flag.FlagSet) action {
		return func(ctx context.Context, c *cli, args []string) error { return c.timeline(ctx, args[0]) }
	},
}

var (
	commitSHA = regexp.MustCompile(`^[0-9a-fA-F]{7,40}$`)
	digestRef = regexp.MustCompile(`^sha256:[0-9a-fA-F]{64}$`)
)

// timeline prints the causal chain of ref, a commit SHA or an artifact
// digest, from the hub's ledger.
func (c *cli) timeline(ctx context.Context, ref string) error {
	if !commitSHA.MatchString(ref) && !digestRef.MatchString(ref) {
		return badInput("%q is neither a commit SHA (7 to 40 hex digits) nor an artifact digest (sha256: and 64 hex digits)", ref)
	}
	ref = strings.ToLower(ref)
	h, err := c.openHub(ctx)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(ref, "sha256:") && len(ref) < 40 {
		if ref, err = fullSHA(h, ref); err != nil {
			return err
		}
	}
	recs, err := chain(ctx, h.ledger, ref)
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		return badInput("the hub's ledger holds nothing of %s", ref)
	}
	return timeline.Write(c.out, recs)
}

// commitLister is a ledger that can list its commits: a file can, DynamoDB,
// read by key, cannot.
type commitLister interface{ Commits() []string }

var _ commitLister = (*ledger.File)(nil)

// fullSHA is the SHA of the one commit of h's ledger starting with short.
func fullSHA(h *hub, short string) (string, error) {
	l, ok := h.ledger.(commitLister)
	if !ok {
		return "", badInput("a deployed hub finds a commit by its full SHA: give all 40 hex digits of %s (git rev-parse %s)", short, short)
	}
	var found []string
	for _, sha := range l.Commits() {
		if strings.HasPrefix(sha, short) {
			found = append(found, sha)
		}
	}
	switch len(found) {
	case 0:
		return "", badInput("the hub's ledger holds no commit %s", short)
	case 1:
		return found[0], nil
	}
	return "", badInput("%s is the start of %d commits: %s; give more of its SHA", short, len(found), strings.Join(found, ", "))
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
