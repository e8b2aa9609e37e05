// Package push records CodeCommit branch pushes in the ledger. A push is where a
// commit's timeline, and its lead time, begin.
package push

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/highwayhq/highway/shared/bus"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/route"
	"github.com/highwayhq/highway/shared/telemetry"
)

// DetailTypeCommitRecorded is the domain event published for each new commit.
const DetailTypeCommitRecorded = "Commit Recorded"

// Detail is the detail of a CodeCommit "Repository State Change" event
// (route.DetailTypeRepositoryStateChange).
type Detail struct {
	// Event is referenceCreated, referenceUpdated or referenceDeleted.
	Event string `json:"event"`
	// RepositoryName is the CodeCommit repository.
	RepositoryName string `json:"repositoryName"`
	// RepositoryID is the repository's id.
	RepositoryID string `json:"repositoryId"`
	// ReferenceType is branch or tag.
	ReferenceType string `json:"referenceType"`
	// ReferenceName is the branch or tag name, for example main.
	ReferenceName string `json:"referenceName"`
	// CommitID is the commit the reference points to after the push.
	CommitID string `json:"commitId"`
	// OldCommitID is the commit it pointed to before (absent when created).
	OldCommitID string `json:"oldCommitId"`
	// CallerUserArn is the IAM identity that pushed.
	CallerUserArn string `json:"callerUserArn"`
}

// Recorded is the detail of a "Commit Recorded" event.
type Recorded struct {
	// App is the app the repository belongs to in the policy.
	App string `json:"app"`
	// Repository is the CodeCommit repository.
	Repository string `json:"repository"`
	// Branch is the branch pushed to.
	Branch string `json:"branch"`
	// Commit is the commit's SHA.
	Commit string `json:"commit"`
	// Author is the commit's author, "name <email>".
	Author string `json:"author,omitempty"`
	// CommittedAt is the commit's time; lead time starts here.
	CommittedAt time.Time `json:"committedAt,omitzero"`
	// Pusher is the IAM identity that pushed.
	Pusher string `json:"pusher,omitempty"`
	// PushedAt is when CodeCommit reported the push.
	PushedAt time.Time `json:"pushedAt"`
}

// Outcome says what became of one push event.
type Outcome string

// The outcomes of a push event. Only Recorded writes anything.
const (
	OutcomeRecorded  Outcome = "recorded"
	OutcomeDuplicate Outcome = "duplicate"
	OutcomeIgnored   Outcome = "ignored"
)

// Result is what the handler returns for one event; it is logged and, under the
// Lambda runtime, the invocation's response.
type Result struct {
	// Outcome is recorded when the push brought at least one new commit,
	// duplicate when every commit was recorded before, or ignored.
	Outcome Outcome `json:"outcome"`
	// Reason explains an ignored event.
	Reason string `json:"reason,omitempty"`
	// App is the app the push belongs to.
	App string `json:"app,omitempty"`
	// Commit is the pushed head's SHA.
	Commit string `json:"commit,omitempty"`
	// Commits are the pushed commits this delivery walked, newest first; the walk
	// stops at a commit recorded before, so a redelivery lists fewer.
	Commits []string `json:"commits,omitempty"`
	// Truncated says the push brought more than MaxCommitsPerPush commits.
	Truncated bool `json:"truncated,omitempty"`
}

// Handler records pushes to the branches of the repositories the policy names.
type Handler struct {
	ledger  ledger.Ledger
	bus     bus.Publisher
	metrics telemetry.Putter
	commits Commits
	apps    map[string]*policy.App // by repository name
}

// NewHandler returns a handler that reads pushed commits through cc, records
// the pushes of p's apps in l, announces them on b and counts them in m.
func NewHandler(p *policy.Policy, cc Commits, l ledger.Ledger, b bus.Publisher, m telemetry.Putter) *Handler {
	apps := make(map[string]*policy.App, len(p.Apps))
	for i := range p.Apps {
		apps[p.Apps[i].Repository] = &p.Apps[i]
	}
	return &Handler{ledger: l, bus: b, metrics: m, commits: cc, apps: apps}
}

// Handle records each commit a push brought, once, with its author and commit
// time read from CodeCommit. Events that are not branch pushes of a known
// repository, from the app's delivery account, are acknowledged with the reason:
// a retry could not fix them. The push rule selects CodeCommit's events by
// account only, so this is where another app's repository is told apart.
// CodeCommit, ledger and bus failures are returned for a retry; a redelivered
// event records nothing twice.
func (h *Handler) Handle(ctx context.Context, ev events.CloudWatchEvent) (Result, error) {
	ctx = telemetry.Correlate(ctx, telemetry.Correlation{EventID: ev.ID})
	if ev.Source != route.SourceCodeCommit || ev.DetailType != route.DetailTypeRepositoryStateChange {
		return h.ignore(ctx, fmt.Sprintf("%q from %q is not a %q event", ev.DetailType, ev.Source, route.DetailTypeRepositoryStateChange))
	}
	var d Detail
	if err := json.Unmarshal(ev.Detail, &d); err != nil {
		return h.ignore(ctx, fmt.Sprintf("undecodable detail: %v", err))
	}
	ctx = telemetry.Correlate(ctx, telemetry.Correlation{Commit: d.CommitID})
	switch {
	case d.Event != "referenceCreated" && d.Event != "referenceUpdated":
		return h.ignore(ctx, fmt.Sprintf("event %q is not a push", d.Event))
	case d.ReferenceType != "branch":
		return h.ignore(ctx, fmt.Sprintf("reference type %q is not a branch", d.ReferenceType))
	case d.CommitID == "" || d.RepositoryName == "" || d.ReferenceName == "":
		return h.ignore(ctx, "commitId, repositoryName or referenceName missing")
	case ev.Time.IsZero():
		return h.ignore(ctx, "event time missing")
	}
	app, ok := h.apps[d.RepositoryName]
	if !ok {
		return h.ignore(ctx, fmt.Sprintf("repository %q belongs to no app in the policy", d.RepositoryName))
	}
	if ev.AccountID != app.Account {
		return h.ignore(ctx, fmt.Sprintf("push to %s from account %s, but app %s is delivered from account %s",
			d.RepositoryName, ev.AccountID, app.Name, app.Account))
	}

	commits, truncated, err := pushed(ctx, h.commits(app.Name, ev.AccountID, ev.Region), d.RepositoryName, d.CommitID, d.OldCommitID, h.known(ctx))
	if notFound(err) {
		return h.ignore(ctx, err.Error())
	}
	if err != nil {
		return Result{}, err
	}
	res := Result{Outcome: OutcomeDuplicate, App: app.Name, Commit: d.CommitID, Truncated: truncated}
	var announce []bus.Event
	// Oldest first: if a write fails, the commits recorded so far are the oldest,
	// and the redelivery's walk, which stops at the first recorded commit, still
	// reaches every commit that is missing.
	for i := len(commits) - 1; i >= 0; i-- {
		c := commits[i]
		rec := &ledger.Commit{
			Header:      ledger.Header{ID: c.sha, Commit: c.sha, App: app.Name, At: ev.Time},
			Repo:        d.RepositoryName,
			Branch:      d.ReferenceName,
			Pusher:      d.CallerUserArn,
			Author:      c.author,
			Message:     c.message,
			CommittedAt: c.committedAt,
		}
		switch err := h.ledger.Put(ctx, rec); {
		case errors.Is(err, ledger.ErrExists):
			// A redelivery: the record stands, but its announcement may not have
			// gone out, so it is sent again (subscribers are idempotent by commit).
		case err != nil:
			return Result{}, fmt.Errorf("record commit %s: %w", c.sha, err)
		default:
			res.Outcome = OutcomeRecorded
			if err := h.metrics.Put(telemetry.MetricCommitsRecorded, 1, telemetry.Count, telemetry.Dimensions{telemetry.DimApp: app.Name}); err != nil {
				slog.WarnContext(ctx, "metric not recorded", "error", err)
			}
		}
		res.Commits = append([]string{c.sha}, res.Commits...)
		announce = append(announce, bus.Event{
			DetailType: DetailTypeCommitRecorded,
			Time:       ev.Time,
			Detail: Recorded{App: app.Name, Repository: d.RepositoryName, Branch: d.ReferenceName, Commit: c.sha,
				Author: c.author, CommittedAt: c.committedAt.UTC(), Pusher: d.CallerUserArn, PushedAt: ev.Time.UTC()},
		})
	}
	if err := h.bus.Publish(ctx, announce...); err != nil {
		return Result{}, fmt.Errorf("announce commits of %s: %w", d.CommitID, err)
	}
	slog.InfoContext(ctx, "push recorded", "outcome", res.Outcome, "app", app.Name, "repository", d.RepositoryName,
		"branch", d.ReferenceName, "commits", len(commits), "truncated", truncated)
	return res, nil
}

// known reports whether the ledger already holds a commit.
func (h *Handler) known(ctx context.Context) func(string) (bool, error) {
	return func(sha string) (bool, error) {
		recs, err := h.ledger.ByCommit(ctx, sha)
		if err != nil {
			return false, fmt.Errorf("look up commit %s: %w", sha, err)
		}
		for _, r := range recs {
			if _, ok := r.(*ledger.Commit); ok {
				return true, nil
			}
		}
		return false, nil
	}
}

func (h *Handler) ignore(ctx context.Context, reason string) (Result, error) {
	slog.WarnContext(ctx, "push ignored", "reason", reason)
	return Result{Outcome: OutcomeIgnored, Reason: reason}, nil
}
