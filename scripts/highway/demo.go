package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/highwayhq/highway/shared/dora"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/timeline"
)

// step is one moment of the demo scenario and what it stands for: a sample
// event delivered as AWS would deliver it, time passing (the promotion tick),
// or an approver opening their signed link.
type step struct {
	says    string
	file    string
	wait    time.Duration
	approve string
	act     func(*local, context.Context) error // a scene of its own
}

// scenario is the story the demo tells, in order. Each capability adds its steps.
var scenario = []step{
	{says: "the ledger holds last week's release: checkout 4b7e1a9 runs in dev, staging and prod", act: lastRelease},
	{says: "a developer pushes two commits to checkout-service main", file: "codecommit-push.json"},
	{says: "EventBridge delivers the same event again (delivery is at least once)", file: "codecommit-push.json"},
	{says: "checkout-pipeline builds 9f4e2c1: tests pass, no findings; the artifact goes to dev", file: "codebuild-build-succeeded.json"},
	{says: "35 minutes later: the artifact has soaked in dev, staging's pipeline deploys it", wait: 35 * time.Minute},
	{says: "an hour later: it has soaked in staging; prod needs an approval", wait: 65 * time.Minute},
	{says: "ana.silva@example.com approves through her signed link; prod deploys", approve: "ana.silva@example.com"},
	{says: "20 minutes later checkout-prod-5xx fires: the load balancer counts target 5XX answers", file: "cloudwatch-alarm-state-change.json"},
	{says: "with last week's version back in prod, the alarm returns to OK", file: "cloudwatch-alarm-state-change-ok.json"},
	{says: "a developer pushes a commit adding a Python report script", file: "codecommit-push-2.json"},
	{says: "checkout-pipeline builds c3a97e0: Trivy and the ECR scan find critical CVEs", file: "codebuild-build-vulnerable.json"},
	{says: "someone runs the refused c3a97e0 image in dev by hand: aws ssm put-parameter --name /checkout/dev/image", act: handDeploy},
	{says: "the drift schedule fires: stacks are queued, detections start, environments are compared with what was promoted", act: (*local).driftRound},
	{says: "CloudFormation finishes the network stack's detection: a security group rule was added by hand", file: "cloudformation-drift-detection.json"},
}

// The release that ran everywhere before the scenario.
const (
	lastCommit = "4b7e1a9c3d5f7b2e4a6c8d0f1b3e5a7c9d2f4b6e"
	lastDigest = "sha256:5d2c8e1f4a7b0c3e6d9f2a5b8c1e4d7a0b3f6c9e2d5a8b1c4f7e0a3d6b9c2f5e"
)

// lastRelease puts on the ledger what promotion left there a week before the
// scenario: checkout's previous artifact, deployed to each environment, which
// the environments run.
func lastRelease(rt *local, ctx context.Context) error {
	at := time.Date(2026, 11, 10, 9, 0, 0, 0, time.UTC)
	rt.clock = at
	a, err := rt.promoter.Register(ctx, "checkout", lastCommit, lastDigest, ledger.ArtifactRef{Type: ledger.ArtifactImage, Repository: "checkout-service"})
	if err != nil {
		return err
	}
	app, ok := rt.policy.App("checkout")
	if !ok {
		return fmt.Errorf("the demo's policy has no app checkout")
	}
	for i, env := range app.Environments {
		if env.Deploy == nil {
			continue
		}
		done := at.Add(time.Duration(i+1) * time.Hour)
		d := &ledger.Deployment{Header: ledger.Header{ID: "dep-last-week-" + env.Name, App: app.Name, Env: env.Name, Commit: lastCommit, Digest: lastDigest, At: done.Add(-5 * time.Minute)},
			Commits: []string{lastCommit}, Status: ledger.DeploymentSuccess, FinishedAt: done, Duration: 5 * time.Minute}
		if err := rt.ledger.Put(ctx, d); err != nil {
			return err
		}
		rt.environments.set(app.Name, env.Name, a.Repository+"@"+lastDigest)
		fmt.Fprintf(rt.out, "  %s: %s@%s since %s\n", env.Name, a.Repository, lastDigest, done.Format("2006-01-02 15:04Z"))
	}
	return nil
}

// refusedImage is the image of the build the gate refused (c3a97e0).
const refusedImage = "checkout-service@sha256:1d9a4f7c2e5b8a0d3f6c9e2b5a8d1f4c7e0b3a6d9c2f5e8b1a4d7c0f3e6b9a2d"

// handDeploy is someone deploying around Highway: dev's parameter now names
// an image that never passed the gate.
func handDeploy(rt *local, _ context.Context) error {
	rt.clock = rt.clock.Add(10 * time.Minute)
	rt.environments.set("checkout", "dev", refusedImage)
	fmt.Fprintf(rt.out, "  /checkout/dev/image = %s (not through Highway)\n", refusedImage)
	return nil
}

func demo(ctx context.Context, out io.Writer, policyFile, eventsDir, htmlFile string) error {
	p, err := policy.Load(policyFile)
	if err != nil {
		return err
	}
	l := ledger.NewMemory()
	rt, err := play(ctx, out, p, policyFile, eventsDir, l)
	if err != nil {
		return err
	}
	rows, err := summarize(ctx, out, p, l, rt)
	if err != nil {
		return err
	}
	if htmlFile == "" {
		return nil
	}
	return writeDORAPage(ctx, out, l, p, rows, "", "", rt.clock, htmlFile)
}

// play runs the scenario against the ledger l, printing what happens, and
// returns the local runtime as the scenario left it.
func play(ctx context.Context, out io.Writer, p *policy.Policy, policyFile, eventsDir string, l ledger.Ledger, opts ...option) (*local, error) {
	s, err := loadSamples(eventsDir)
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	rt, err := newLocal(out, p, l, s, opts...)
	if err != nil {
		return nil, err
	}
	defer rt.Close()
	envs := 0
	for _, a := range p.Apps {
		envs += len(a.Environments)
	}
	fmt.Fprintf(out, "Highway demo: policy %s (%s, %s), in-memory ledger, AWS calls printed, not made\n",
		policyFile, plural(len(p.Apps), "app"), plural(envs, "environment"))

	for _, st := range scenario {
		switch {
		case st.wait > 0:
			fmt.Fprintf(out, "\n▶ %s\n", st.says)
			err = rt.tick(ctx, st.wait)
		case st.approve != "":
			fmt.Fprintf(out, "\n▶ %s\n", st.says)
			err = rt.approve(ctx, st.approve)
		case st.act != nil:
			fmt.Fprintf(out, "\n▶ %s\n", st.says)
			err = st.act(rt, ctx)
		default:
			path := filepath.Join(eventsDir, st.file)
			var event []byte
			if event, err = os.ReadFile(path); err != nil {
				return nil, fmt.Errorf("scenario: %w", err)
			}
			fmt.Fprintf(out, "\n▶ %s (%s)\n", st.says, path)
			err = rt.deliver(ctx, event)
		}
		if err != nil {
			return nil, fmt.Errorf("scenario step %q: %w", st.says, err)
		}
	}
	return rt, nil
}

// summarize prints what the scenario left: the promoted artifact's timeline,
// incidents, DORA metrics, drift, and each commit's timeline. It returns the
// DORA rows, for the page.
func summarize(ctx context.Context, out io.Writer, p *policy.Policy, l ledger.Ledger, rt *local) ([]dora.Row, error) {

	if err := digestTimeline(ctx, out, l, promoted); err != nil {
		return nil, err
	}
	reports, err := l.CurrentDriftReports(ctx)
	if err != nil {
		return nil, err
	}
	incs, err := listIncidents(ctx, l, p, false, rt.clock.Add(-7*24*time.Hour), rt.clock)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "\nIncidents (highway incidents):\n")
	if err := writeIncidents(out, incs, false, rt.clock); err != nil {
		return nil, err
	}
	rows, err := doraTable(ctx, l, p, "", "", rt.clock)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "\nDORA metrics (highway dora):\n")
	if err := writeDORA(out, rows); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "\nDrift (highway drift report):\n")
	if err := writeDrift(out, reports, false); err != nil {
		return nil, err
	}
	for _, sha := range rt.commits {
		recs, err := l.ByCommit(ctx, sha)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(out, "\nTimeline of commit %s:\n", sha)
		if err := timeline.Write(out, recs); err != nil {
			return nil, err
		}
	}
	return rows, nil
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// promoted is the digest of the artifact the scenario promotes to prod.
const promoted = "sha256:e648cabf48d6a5984c1d5b81ccbeee918af76b27563b8fc615f1749ebd4b33c6"

// digestTimeline prints every record of one artifact: one digest, everywhere.
func digestTimeline(ctx context.Context, out io.Writer, l ledger.Ledger, digest string) error {
	recs, err := l.ByDigest(ctx, digest)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nTimeline of artifact %s:\n", digest)
	return timeline.Write(out, recs)
}
