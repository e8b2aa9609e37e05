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
	"github.com/highwayhq/highway/shared/telemetry"
)

// DetailTypeCommitRecorded is the domain event published for each new commit.
const DetailTypeCommitRecorded = "Commit Recorded"

// Detail is the detail of a CodeCommit "Repository State Change" event.
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
	// Commit is the pushed commit's SHA.
	Commit string `json:"commit"`
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
	// Outcome says whether the push was recorded, a duplicate or ignored.
	Outcome Outcome `json:"outcome"`
	// Reason explains an ignored event.
	Reason string `json:"reason,omitempty"`
	// App is the app the push belongs to.
	App string `json:"app,omitempty"`
	// Commit is the pushed commit's SHA.
	Commit string `json:"commit,omitempty"`
}

// MetricCommitsRecorded counts new commits per app.
const MetricCommitsRecorded = "CommitsRecorded"

// metrics is where the handler counts what it records.
type metrics interface {
	Put(name string, value float64, unit telemetry.Unit, dims telemetry.Dimensions) error
}

var _ metrics = (*telemetry.Metrics)(nil)

// Handler records pushes to the branches of the repositories the policy names.
type Handler struct {
	ledger  ledger.Ledger
	bus     bus.Publisher
	metrics metrics
	apps    map[string]string // repository name → app name
}

// NewHandler returns a handler that records the pushes of p's apps in l,
// announces them on b and counts them in m.
func NewHandler(p *policy.Policy, l ledger.Ledger, b bus.Publisher, m metrics) *Handler {
	apps := make(map[string]string, len(p.Apps))
	for _, a := range p.Apps {
		apps[a.Repository] = a.Name
	}
	return &Handler{ledger: l, bus: b, metrics: m, apps: apps}
}

// Handle records the pushed commit once. Events that are not branch pushes of a
// known repository, or that lack a commit, are acknowledged with the reason: a
// retry could not fix them. Ledger and bus failures are returned for a retry; a
// redelivered event after a partial failure records nothing twice.
func (h *Handler) Handle(ctx context.Context, ev events.CloudWatchEvent) (Result, error) {
	ctx = telemetry.Correlate(ctx, telemetry.Correlation{EventID: ev.ID})
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

	c := &ledger.Commit{
		Header: ledger.Header{ID: d.CommitID, Commit: d.CommitID, App: app, At: ev.Time},
		Repo:   d.RepositoryName,
		Branch: d.ReferenceName,
		Pusher: d.CallerUserArn,
	}
	res := Result{Outcome: OutcomeRecorded, App: app, Commit: d.CommitID}
	err := h.ledger.Put(ctx, c)
	switch {
	case errors.Is(err, ledger.ErrExists):
		// A redelivery: the record stands, but the announcement may not have gone
		// out, so it is sent again (subscribers are idempotent by commit).
		res.Outcome = OutcomeDuplicate
	case err != nil:
		return Result{}, fmt.Errorf("record commit %s: %w", d.CommitID, err)
	default:
		if err := h.metrics.Put(MetricCommitsRecorded, 1, telemetry.Count, telemetry.Dimensions{"App": app}); err != nil {
			slog.WarnContext(ctx, "metric not recorded", "error", err)
		}
	}
	err = h.bus.Publish(ctx, bus.Event{
		DetailType: DetailTypeCommitRecorded,
		Time:       ev.Time,
		Detail: Recorded{App: app, Repository: d.RepositoryName, Branch: d.ReferenceName,
			Commit: d.CommitID, Pusher: d.CallerUserArn, PushedAt: ev.Time.UTC()},
	})
	if err != nil {
		return Result{}, fmt.Errorf("announce commit %s: %w", d.CommitID, err)
	}
	slog.InfoContext(ctx, "push recorded", "outcome", res.Outcome, "app", app, "repository", d.RepositoryName, "branch", d.ReferenceName)
	return res, nil
}

func (h *Handler) ignore(ctx context.Context, reason string) (Result, error) {
	slog.WarnContext(ctx, "push ignored", "reason", reason)
	return Result{Outcome: OutcomeIgnored, Reason: reason}, nil
}
