package runtimecheck

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/highwayhq/highway/shared/imageref"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
)

// The statuses of a runtime drift report.
const (
	// StatusInSync: everything the target runs is the promoted digest.
	StatusInSync = "IN_SYNC"
	// StatusMismatch: the target runs a digest other than the promoted one,
	// which did not reach the environment through the gate. This is artifact
	// drift.
	StatusMismatch = "DIGEST_MISMATCH"
	// StatusUnverifiable: the target names what it runs without a digest (an
	// image by tag), or names the promoted digest while some of what runs
	// may be of another version (an EKS rollout paused, progressing or
	// failed), so it cannot be compared.
	StatusUnverifiable = "UNVERIFIABLE"
	// StatusDeploying: the target runs a digest that a promotion is deploying
	// right now (an ECS or EKS rollout, an App Runner operation, a GitOps
	// controller's sync in progress). Not drift; the next check settles it.
	StatusDeploying = "DEPLOYING"
)

// ReportID is the ID of an app+env's runtime drift reports, under which
// Latest finds the newest.
func ReportID(app, env string) string { return app + "/" + env }

// lookbacks are how far back, in widening steps, the environment's
// deployments are read until a successful one is found; after the last,
// everything older is read. Most checks need only the first step.
var lookbacks = []time.Duration{30 * 24 * time.Hour, 365 * 24 * time.Hour}

// ahead is how far past now deployments and promotions are read: a late
// scheduled check still sees a deployment that finished before AWS was read.
const ahead = 24 * time.Hour

// Check compares what env runs with the digest of the app's latest successful
// deployment there, and files the outcome on the ledger as a DriftReport
// (ID ReportID(app, env.Name), At now, Header.Digest the digest found
// running, ExpectedDigest the promoted one). Changed says it differs from
// the previous report in status or digests; the first report counts as
// changed. Publishing "Artifact Drift" for a changed DIGEST_MISMATCH or
// UNVERIFIABLE is the caller's.
//
// An EKS Deployment whose template names the promoted digest while some of
// its pods may still be of another template (its rollout paused,
// progressing or failed) is UNVERIFIABLE: the template alone does not show
// what the pods run.
//
// A mismatch with a digest that a promotion on the ledger is deploying is
// DEPLOYING, whether or not the target still reports a rollout (an EKS
// Deployment's Progressing, an App Runner operation): the promotion records
// its end only after the rollout completes, and a check in between finds
// no drift. So is a digest whose rollout is not complete, when a promotion
// is deploying it.
//
// An environment without a runtime target fails with ErrNoTarget, and one
// with no successful deployment on the ledger with ErrNotPromoted: Highway
// has not put anything there, so nothing runs that it could hold to its
// gate, and no report is filed. Both are for the caller to skip. A check
// whose time is not after the newest stored report's (a redelivered
// scheduled event) returns that report and reads nothing from AWS.
func Check(ctx context.Context, app string, env *policy.Environment, l ledger.Ledger, c Clients, now time.Time) (*ledger.DriftReport, error) {
	if env == nil || env.Deploy == nil || env.Deploy.Pipeline != nil {
		return nil, ErrNoTarget
	}
	id := ReportID(app, env.Name)
	prev, err := latestReport(ctx, l, id)
	if err != nil {
		return nil, err
	}
	if prev != nil && !prev.At.Before(now) {
		return prev, nil
	}
	dep, err := promoted(ctx, l, app, env.Name, now)
	if err != nil {
		return nil, err
	}
	obs, err := Running(ctx, env, c)
	if err != nil {
		return nil, fmt.Errorf("runtime check %s: %w", id, err)
	}

	want := dep.Digest
	if d, ok := imageref.SHA256(want); ok {
		want = d
	}
	status, seen := compare(obs, want)
	if status == StatusMismatch || (status == StatusUnverifiable && seen.Digest != "") {
		rolling, err := deploying(ctx, l, app, env.Name, seen.Digest, now)
		if err != nil {
			return nil, err
		}
		if rolling { // a promotion's rollout: no warning to explain
			status, seen.Note = StatusDeploying, ""
		}
	}
	rep := &ledger.DriftReport{
		Header:         ledger.Header{ID: id, App: app, Env: env.Name, Digest: seen.Digest, At: now},
		Status:         status,
		ExpectedDigest: dep.Digest,
		Account:        env.Account,
		Region:         env.Region,
		Target:         describe(seen),
	}
	rep.Changed = changed(prev, rep)
	if _, err := ledger.FileDriftReport(ctx, l, rep); err != nil {
		if errors.Is(err, ledger.ErrExists) {
			// A concurrent delivery of the same check stored it first.
			if stored, err := latestReport(ctx, l, id); err == nil && stored != nil && stored.At.Equal(rep.At) {
				return stored, nil
			}
		}
		return nil, fmt.Errorf("runtime check %s: %w", id, err)
	}
	return rep, nil
}

// latestReport returns the newest runtime report of id, or nil.
func latestReport(ctx context.Context, l ledger.Ledger, id string) (*ledger.DriftReport, error) {
	rec, err := l.Latest(ctx, ledger.KindDriftReport, id)
	if errors.Is(err, ledger.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("runtime check %s: previous report: %w", id, err)
	}
	rep, ok := rec.(*ledger.DriftReport)
	if !ok {
		return nil, fmt.Errorf("runtime check %s: previous report is a %T", id, rec)
	}
	return rep, nil
}

// promoted returns the app's latest successful deployment into env: the one
// that finished last. It reads back in widening windows and stops at the
// first that holds one.
func promoted(ctx context.Context, l ledger.Ledger, app, env string, now time.Time) (*ledger.Deployment, error) {
	to := now.Add(ahead)
	for i := 0; i <= len(lookbacks); i++ {
		var from time.Time // the last step reads from the beginning
		if i < len(lookbacks) {
			from = now.Add(-lookbacks[i])
		}
		deps, err := l.Deployments(ctx, app, env, from, to)
		if err != nil {
			return nil, fmt.Errorf("runtime check %s: %w", ReportID(app, env), err)
		}
		var best *ledger.Deployment
		for _, d := range deps {
			if d.Status == ledger.DeploymentSuccess && (best == nil || !finished(d).Before(finished(best))) {
				best = d
			}
		}
		if best != nil {
			if best.Digest == "" {
				return nil, fmt.Errorf("runtime check %s: deployment %s has no digest", ReportID(app, env), best.ID)
			}
			return best, nil
		}
		to = from
	}
	return nil, fmt.Errorf("%s: %w", ReportID(app, env), ErrNotPromoted)
}

// finished is when a deployment ended, or started if that was not recorded.
func finished(d *ledger.Deployment) time.Time {
	if d.FinishedAt.IsZero() {
		return d.At
	}
	return d.FinishedAt
}

// deploying reports whether a promotion of digest into env is deploying now.
func deploying(ctx context.Context, l ledger.Ledger, app, env, digest string, now time.Time) (bool, error) {
	promos, err := l.Promotions(ctx, app, env, now.Add(-lookbacks[0]), now.Add(ahead))
	if err != nil {
		return false, fmt.Errorf("runtime check %s: %w", ReportID(app, env), err)
	}
	for _, p := range promos {
		if p.Status == ledger.PromotionDeploying && p.Digest == digest {
			return true, nil
		}
	}
	return false, nil
}

// compare decides the status of obs against the promoted digest want, and
// which observation the report shows: a mismatching one first, then one
// that names no digest, then the target's own when it is unsettled (its
// Note saying why), else the alias's or target's own.
func compare(obs Observed, want string) (string, Observed) {
	all := append([]Observed{obs}, obs.Others...)
	for _, o := range all {
		if o.Digest != "" && o.Digest != want {
			return StatusMismatch, o
		}
	}
	for _, o := range all {
		if o.Digest == "" {
			return StatusUnverifiable, o
		}
	}
	if obs.Unsettled != "" {
		obs.Note = obs.Unsettled
		return StatusUnverifiable, obs
	}
	return StatusInSync, obs
}

// describe is the report's Target: what was read, the value read, and why
// it could not be verified.
func describe(o Observed) string {
	s := o.Target + ": " + o.Raw
	if o.Note != "" {
		s += " (" + o.Note + ")"
	}
	return s
}

// changed reports whether rep tells something prev did not: another status
// or digest, or, when neither can be verified, another value read. A task
// definition revision or Lambda version with the same code is no change.
func changed(prev, rep *ledger.DriftReport) bool {
	switch {
	case prev == nil:
		return true
	case prev.Status != rep.Status, prev.Digest != rep.Digest, prev.ExpectedDigest != rep.ExpectedDigest:
		return true
	}
	return rep.Status == StatusUnverifiable && prev.Target != rep.Target
}
