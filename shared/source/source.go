// Package source records the commits pushed to an app's source repository,
// CodeCommit or GitHub, in the ledger, and announces each on Highway's bus. A
// push is where a commit's timeline, and its lead time, begin: the push
// function (CodeCommit) and the webhook function (GitHub) read a push each
// their own way and record it here, the same way.
package source

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/highwayhq/highway/shared/bus"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/telemetry"
)

// DetailTypeCommitRecorded is the domain event published for each new commit.
const DetailTypeCommitRecorded = "Commit Recorded"

// MaxCommitsPerPush bounds how many commits one push records: a push of a long
// history (a new branch of an old repository, a force push) records its newest
// commits only, and says so.
const MaxCommitsPerPush = 50

// Recorded is the detail of a "Commit Recorded" event.
type Recorded struct {
	// App is the app the repository belongs to in the policy.
	App string `json:"app"`
	// Repository is the CodeCommit repository, or the GitHub owner/name.
	Repository string `json:"repository"`
	// Branch is the branch pushed to.
	Branch string `json:"branch"`
	// Commit is the commit's SHA.
	Commit string `json:"commit"`
	// Author is the commit's author, "name <email>".
	Author string `json:"author,omitempty"`
	// CommittedAt is the commit's time; lead time starts here.
	CommittedAt time.Time `json:"committedAt,omitzero"`
	// Pusher is who pushed: an IAM identity (CodeCommit) or a GitHub user.
	Pusher string `json:"pusher,omitempty"`
	// PushedAt is when the push happened, as its source reported it.
	PushedAt time.Time `json:"pushedAt"`
}

// Outcome says what became of one push.
type Outcome string

// The outcomes of a push. Only Recorded writes anything.
const (
	OutcomeRecorded  Outcome = "recorded"
	OutcomeDuplicate Outcome = "duplicate"
	OutcomeIgnored   Outcome = "ignored"
)

// Result is what a handler returns for one push; it is logged and, under the
// Lambda runtime, the invocation's response.
type Result struct {
	// Outcome is recorded when the push brought at least one new commit,
	// duplicate when every commit was recorded before, or ignored.
	Outcome Outcome `json:"outcome"`
	// Reason explains an ignored push.
	Reason string `json:"reason,omitempty"`
	// App is the app the push belongs to.
	App string `json:"app,omitempty"`
	// Commit is the pushed head's SHA.
	Commit string `json:"commit,omitempty"`
	// Commits are the pushed commits this delivery recorded or found recorded,
	// newest first.
	Commits []string `json:"commits,omitempty"`
	// Truncated says the push brought more than MaxCommitsPerPush commits, and
	// only the newest were recorded.
	Truncated bool `json:"truncated,omitempty"`
}

// Push is one push to a branch of an app's repository, as its source told it.
type Push struct {
	// App is the app the repository belongs to.
	App string
	// Repository is the CodeCommit repository, or the GitHub owner/name.
	Repository string
	// Branch is the branch pushed to, without refs/heads/.
	Branch string
	// Head is the commit the branch points to after the push.
	Head string
	// Pusher is who pushed.
	Pusher string
	// PushedAt is when the push happened. It is part of each commit record's
	// key, so it must come from the push itself, never from a clock: every
	// delivery of one push then writes the same records.
	PushedAt time.Time
	// Commits are the commits to record, newest first, at most
	// MaxCommitsPerPush.
	Commits []Commit
	// Truncated says the push brought more commits than Commits holds.
	Truncated bool
}

// Commit is one pushed commit.
type Commit struct {
	// SHA is the commit id.
	SHA string
	// Author is "name <email>".
	Author string
	// Message is the commit message; its subject is recorded.
	Message string
	// CommittedAt is when the commit took its final form (the committer's
	// date); lead time starts here.
	CommittedAt time.Time
}

// Recorder records pushes in the ledger, counts the new commits and announces
// every commit of a push on the bus.
type Recorder struct {
	// Ledger keeps the commits.
	Ledger ledger.Ledger
	// Bus receives a "Commit Recorded" event per commit.
	Bus bus.Publisher
	// Metrics counts new commits (telemetry.MetricCommitsRecorded).
	Metrics telemetry.Putter
}

// Record files each commit of p in the ledger under its SHA, once: a commit
// record's key is its SHA and p.PushedAt, so a redelivered push finds its
// records and writes nothing. Every commit is announced, the ones recorded
// before too: a delivery cannot tell whether an earlier delivery's
// announcement went out, and subscribers take each commit once. Ledger and
// bus failures are returned for a retry, which records what is missing.
func (r Recorder) Record(ctx context.Context, p Push) (Result, error) {
	res := Result{Outcome: OutcomeDuplicate, App: p.App, Commit: p.Head, Truncated: p.Truncated}
	announce := make([]bus.Event, 0, len(p.Commits))
	// Oldest first: if a write fails, the commits recorded so far are the oldest,
	// and a retry that stops at the first commit recorded before still reaches
	// every commit that is missing.
	for i := len(p.Commits) - 1; i >= 0; i-- {
		c := p.Commits[i]
		rec := &ledger.Commit{
			Header:      ledger.Header{ID: c.SHA, Commit: c.SHA, App: p.App, At: p.PushedAt},
			Repo:        p.Repository,
			Branch:      p.Branch,
			Pusher:      p.Pusher,
			Author:      c.Author,
			Message:     Subject(c.Message),
			CommittedAt: c.CommittedAt,
		}
		switch err := r.Ledger.Put(ctx, rec); {
		case errors.Is(err, ledger.ErrExists):
			// A redelivery: the record stands, but its announcement may not have
			// gone out, so it is sent again (subscribers are idempotent by commit).
		case err != nil:
			return Result{}, fmt.Errorf("record commit %s: %w", c.SHA, err)
		default:
			res.Outcome = OutcomeRecorded
			if err := r.Metrics.Put(telemetry.MetricCommitsRecorded, 1, telemetry.Count, telemetry.Dimensions{telemetry.DimApp: p.App}); err != nil {
				slog.WarnContext(ctx, "metric not recorded", "error", err)
			}
		}
		res.Commits = append([]string{c.SHA}, res.Commits...)
		announce = append(announce, bus.Event{
			DetailType: DetailTypeCommitRecorded,
			Time:       p.PushedAt,
			Detail: Recorded{App: p.App, Repository: p.Repository, Branch: p.Branch, Commit: c.SHA,
				Author: c.Author, CommittedAt: c.CommittedAt.UTC(), Pusher: p.Pusher, PushedAt: p.PushedAt.UTC()},
		})
	}
	if err := r.Bus.Publish(ctx, announce...); err != nil {
		return Result{}, fmt.Errorf("announce commits of %s: %w", p.Head, err)
	}
	slog.InfoContext(ctx, "push recorded", "outcome", res.Outcome, "app", p.App, "repository", p.Repository,
		"branch", p.Branch, "commits", len(p.Commits), "truncated", p.Truncated)
	return res, nil
}

// Subject is a commit message's first line, at most 200 characters.
func Subject(msg string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(msg), "\n")
	if r := []rune(line); len(r) > 200 {
		line = string(r[:199]) + "…"
	}
	return line
}
