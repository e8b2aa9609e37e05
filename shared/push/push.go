// Package push records CodeCommit branch pushes in the ledger. A push is where a
// commit's timeline, and its lead time, begin.
package push

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	"github.com/highwayhq/highway/shared/bus"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/route"
	"github.com/highwayhq/highway/shared/source"
	"github.com/highwayhq/highway/shared/telemetry"
)

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
		if r := p.Apps[i].Repository; r != "" { // GitHub apps have none
			apps[r] = &p.Apps[i]
		}
	}
	return &Handler{ledger: l, bus: b, metrics: m, commits: cc, apps: apps}
}

// Handle records each commit a push brought, once, with its author and commit
// time read from CodeCommit (source.Recorder). Events that are not branch
// pushes of a known repository, from the app's delivery account, are
// acknowledged with the reason: a retry could not fix them. The push rule
// selects CodeCommit's events by account only, so this is where another app's
// repository is told apart. CodeCommit, ledger and bus failures are returned
// for a retry; a redelivered event records nothing twice.
func (h *Handler) Handle(ctx context.Context, ev events.CloudWatchEvent) (source.Result, error) {
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
		return source.Result{}, err
	}
	rec := source.Recorder{Ledger: h.ledger, Bus: h.bus, Metrics: h.metrics}
	return rec.Record(ctx, source.Push{App: app.Name, Repository: d.RepositoryName, Branch: d.ReferenceName, Head: d.CommitID,
		Pusher: d.CallerUserArn, PushedAt: ev.Time, Commits: commits, Truncated: truncated})
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

func (h *Handler) ignore(ctx context.Context, reason string) (source.Result, error) {
	slog.WarnContext(ctx, "push ignored", "reason", reason)
	return source.Result{Outcome: source.OutcomeIgnored, Reason: reason}, nil
}
