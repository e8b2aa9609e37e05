package drift

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/highwayhq/highway/shared/awserr"
	"github.com/highwayhq/highway/shared/bus"
	"github.com/highwayhq/highway/shared/kube"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/report"
	"github.com/highwayhq/highway/shared/runtimecheck"
	"github.com/highwayhq/highway/shared/telemetry"
)

// DetailTypeArtifactDrift announces an environment that runs a digest other
// than the one promoted there, when that becomes so or the digest changes.
const DetailTypeArtifactDrift = "Artifact Drift"

// ArtifactNotice is the detail of an "Artifact Drift" event.
type ArtifactNotice struct {
	App    string `json:"app"`
	Env    string `json:"env"`
	Report string `json:"report"`
	// Expected is the digest promoted to the environment; Running the one
	// found there; Target what was read (function, service or parameter).
	Expected string `json:"expected"`
	Running  string `json:"running"`
	Target   string `json:"target"`
}

// RuntimeResult counts one round of runtime checks.
type RuntimeResult struct {
	// Checked is how many environments were compared; Drifted how many of
	// them run a digest other than the promoted one.
	Checked int `json:"checked"`
	Drifted int `json:"drifted"`
	// Skipped names the app/env pairs with nothing promoted yet.
	Skipped []string `json:"skipped,omitempty"`
	// Failed names the app/env pairs that could not be read.
	Failed []string `json:"failed,omitempty"`
}

// CheckRuntime compares what every environment Highway deploys to (a Lambda
// function, an ECS service or an SSM parameter; not a pipeline) runs with the
// digest promoted there, files the outcome with runtimecheck.Check at time
// at, and announces a changed mismatch as "Artifact Drift" with an alert. An
// environment that cannot be read is logged and named in Failed; the others
// are still checked. A read that failed by chance (a throttle, a server
// error) also fails the round, so that it is run again: its check is not
// lost until the next schedule, and those done repeat nothing at the same
// time. Without Config.Runtime it checks nothing.
func (h *Handler) CheckRuntime(ctx context.Context, at time.Time) (RuntimeResult, error) {
	var res RuntimeResult
	if h.runtime == nil {
		return res, nil
	}
	var errs []error
	for i := range h.policy.Apps {
		app := &h.policy.Apps[i]
		for j := range app.Environments {
			env := &app.Environments[j]
			if env.Deploy == nil || env.Deploy.Pipeline != nil {
				continue
			}
			id := runtimecheck.ReportID(app.Name, env.Name)
			rep, err := runtimecheck.Check(ctx, app.Name, env, h.ledger, h.runtime(app.Name, env.Account, env.Region), at)
			switch {
			case errors.Is(err, runtimecheck.ErrNotPromoted):
				res.Skipped = append(res.Skipped, id)
				continue
			case err != nil:
				slog.ErrorContext(ctx, "runtime check failed", "environment", id, "error", err)
				res.Failed = append(res.Failed, id)
				if awserr.Transient(err) || kube.Transient(err) {
					errs = append(errs, fmt.Errorf("runtime check of %s: %w", id, err))
				}
				continue
			}
			res.Checked++
			if err := h.announceRuntime(ctx, rep); err != nil {
				errs = append(errs, err)
			}
			if artifactDrift(rep) {
				res.Drifted++
			}
		}
	}
	return res, errors.Join(errs...)
}

// artifactDrift says a runtime report is artifact drift: the environment runs a
// digest other than the one promoted, or names what it runs by a tag, which
// anyone can move under it, so that what runs cannot be held to the gate.
func artifactDrift(rep *ledger.DriftReport) bool {
	return rep.Status == runtimecheck.StatusMismatch || rep.Status == runtimecheck.StatusUnverifiable
}

// announceRuntime measures a runtime report and, when it is changed artifact
// drift, publishes "Artifact Drift" and alerts, each once across deliveries
// of the round (claimed by report and time): a round run again after a
// failure resumes what it did not do.
func (h *Handler) announceRuntime(ctx context.Context, rep *ledger.DriftReport) error {
	value := 0.0
	if artifactDrift(rep) {
		value = 1
	}
	if err := h.metrics.Put(telemetry.MetricArtifactDrift, value, telemetry.Count, telemetry.Dimensions{telemetry.DimApp: rep.App, telemetry.DimEnv: rep.Env}); err != nil {
		slog.WarnContext(ctx, "drift metric not written", "metric", telemetry.MetricArtifactDrift, "error", err)
	}
	if !artifactDrift(rep) || !rep.Changed {
		return nil
	}
	claims := h.claims(ledger.HolderOf(ctx))
	key := func(step string) string { return fmt.Sprintf("drift:%s:%s:%d", step, rep.ID, rep.At.UnixNano()) }
	notice := ArtifactNotice{App: rep.App, Env: rep.Env, Report: rep.ID, Expected: rep.ExpectedDigest, Running: rep.Digest, Target: rep.Target}
	_, err := claims.Once(ctx, key("announce"), "drift-announce/"+rep.ID, rep.App, func() error {
		if err := h.bus.Publish(ctx, bus.Event{DetailType: DetailTypeArtifactDrift, Detail: notice, Time: rep.At}); err != nil {
			return fmt.Errorf("announce artifact drift of %s: %w", rep.ID, err)
		}
		slog.WarnContext(ctx, "artifact drift", "environment", rep.ID, "expected", rep.ExpectedDigest, "running", rep.Digest, "target", rep.Target)
		return nil
	})
	if err != nil || h.topic == "" {
		return err
	}
	_, err = claims.Once(ctx, key("alert"), "drift-alert/"+rep.ID, rep.App, func() error {
		_, err := h.notify.Publish(ctx, &sns.PublishInput{
			TopicArn: aws.String(h.topic),
			Subject:  aws.String(report.Shorten(fmt.Sprintf("Highway ARTIFACT DRIFT: %s %s runs what was not promoted", rep.App, rep.Env), 100)),
			Message:  aws.String(alertText(rep)),
		})
		if err != nil {
			return fmt.Errorf("alert artifact drift of %s: %w", rep.ID, err)
		}
		return nil
	})
	return err
}

// alertText says what an environment runs instead of its promoted digest.
func alertText(rep *ledger.DriftReport) string {
	if rep.Status == runtimecheck.StatusUnverifiable && rep.Digest != "" {
		return fmt.Sprintf("%s/%s cannot be verified: it names the digest %s (%s), but its rollout has not settled, so pods of another template, and another image, may still run.\n",
			rep.App, rep.Env, rep.Digest, rep.Target)
	}
	if rep.Status == runtimecheck.StatusUnverifiable {
		return fmt.Sprintf("%s/%s names what it runs without a digest (%s), not by the digest promoted there, %s: a tag can be moved to anything, so what runs cannot be held to Highway's gate.\n",
			rep.App, rep.Env, rep.Target, rep.ExpectedDigest)
	}
	return fmt.Sprintf("%s/%s runs %s (%s), but the digest promoted there is %s: what runs did not pass Highway's gate.\n",
		rep.App, rep.Env, orNone(rep.Digest), rep.Target, rep.ExpectedDigest)
}
