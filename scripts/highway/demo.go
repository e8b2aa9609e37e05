package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/highwayhq/highway/shared/dora"
	"github.com/highwayhq/highway/shared/drift"
	"github.com/highwayhq/highway/shared/function"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/route"
	"github.com/highwayhq/highway/shared/runtimecheck"
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
	// again delivers the event of the step before once more, as
	// EventBridge may.
	again bool
}

// scenario is the story the demo tells, in order. Each capability adds its steps.
var scenario = []step{
	{says: "the ledger holds last week's release: checkout 4b7e1a9 runs in dev, staging and prod", act: lastRelease},
	{says: "a developer pushes two commits to checkout-service main", file: "codecommit-push.json"},
	{says: "EventBridge delivers the same event again (delivery is at least once)", file: "codecommit-push.json", again: true},
	{says: "checkout-pipeline builds 9f4e2c1: tests pass, no findings; the artifact goes to dev", file: "codebuild-build-succeeded.json"},
	{says: "35 minutes later: the artifact has soaked in dev, staging's pipeline deploys it", wait: 35 * time.Minute},
	{says: "an hour later: it has soaked in staging; prod needs an approval", wait: 65 * time.Minute},
	{says: "ana.silva@example.com approves through her signed link; prod deploys", approve: "ana.silva@example.com"},
	{says: "20 minutes later checkout-prod-5xx fires: the load balancer counts target 5XX answers", file: "cloudwatch-alarm-state-change.json"},
	{says: "with last week's version back in prod, the alarm returns to OK", file: "cloudwatch-alarm-state-change-ok.json"},
	{says: "a developer pushes a commit adding a Python report script", file: "codecommit-push-2.json"},
	{says: "checkout-pipeline builds c3a97e0: Trivy and the ECR scan find critical CVEs", file: "codebuild-build-vulnerable.json"},
	{says: "a developer pushes two commits to octo-org/storefront main on GitHub; GitHub delivers the push to the webhook", act: (*local).githubPush},
	{says: "someone presses Redeliver on that delivery in the webhook's Recent Deliveries: the same X-GitHub-Delivery again", act: (*local).githubPush},
	{says: "storefront-pipeline (CodePipeline V2, its source a CodeConnections connection to GitHub) builds 7d1f0c4: it compiles; the image goes to dev", file: "codebuild-build-storefront.json"},
	{says: "the gate passes payments 6e1d2f8 (its Gate Decided event): dev's App Runner service is pointed at the image by digest", act: paymentsGatePassed},
	{says: "a minute later the promote tick reads the App Runner operation: dev's rollout finished", wait: time.Minute},
	{says: "30 minutes later: it has soaked in dev; staging's EKS Deployment is patched to the digest", wait: 30 * time.Minute},
	{says: "a minute later the tick reads the Deployment: staging's rollout finished", wait: time.Minute},
	{says: "an hour later: it has soaked in staging; prod's GitOps file gets the digest, committed on the branch's head", wait: 60 * time.Minute},
	{says: "a minute later Argo CD has synced prod: the tick finds the watched Deployment running the digest", wait: time.Minute},
	{says: "someone runs the refused c3a97e0 image in dev by hand: aws ssm put-parameter --name /checkout/dev/image", act: handDeploy},
	{says: "the drift schedule fires: stacks are queued, detections start, environments are compared with what was promoted", act: (*local).driftRound},
	{says: "CloudFormation finishes the network stack's detection: a security group rule was added by hand", file: "cloudformation-drift-detection.json"},
	{says: "CodeBuild finishes the network-prod Terraform workspace's refresh-only plan: SSH was opened on a security group by hand", file: "codebuild-terraform-drift.json"},
	{says: "someone changes payments by hand: the App Runner console points dev at another digest, kubectl set image points staging's container at a tag", act: handChangePayments},
	{says: "the drift check runs again (on a deployed hub, at the schedule's next run): both changes are found", act: (*local).driftRound},
}

// The payments release the demo promotes through App Runner, EKS and GitOps.
const (
	paymentsCommit = "6e1d2f8a4c0b9e7d5f3a1c8e6b4d2f0a9c7e5b3d"
	paymentsDigest = "sha256:7c4e9a2f5b8d1e3c6a0f9b2d5e8c1a4f7b0d3e6c9a2f5b8e1d4c7a0f3b6e9d2c"
	paymentsImage  = "payments-service"
	// paymentsHotfix is the digest someone points dev's App Runner service
	// at by hand: an image no gate judged.
	paymentsHotfix = "sha256:0f3b6e9d2c7c4e9a2f5b8d1e3c6a0f9b2d5e8c1a4f7b0d3e6c9a2f5b8e1d4c7a"
)

// paymentsGatePassed delivers the Gate Decided event the gate publishes for a
// passed payments build, which starts its promotion; its commit, pushed 20
// minutes before, is on the ledger as the push function leaves one.
func paymentsGatePassed(rt *local, ctx context.Context) error {
	rt.clock = rt.clock.Add(5 * time.Minute)
	commit := &ledger.Commit{Header: ledger.Header{ID: paymentsCommit, App: "payments", Commit: paymentsCommit, At: rt.clock.Add(-20 * time.Minute)},
		Repo: "payments-service", Branch: "main", Author: "Priya Nair <priya.nair@example.com>", Message: "Retry card captures once on a timeout",
		CommittedAt: rt.clock.Add(-25 * time.Minute)}
	if err := rt.ledger.Put(ctx, commit); err != nil {
		return err
	}
	ev, err := json.Marshal(events.CloudWatchEvent{Version: "0", ID: "payments-gate-" + paymentsCommit[:7], Source: route.SourceHighway,
		DetailType: route.DetailTypeGateDecided, AccountID: "111111111111", Region: "eu-west-1", Time: rt.clock,
		Detail: json.RawMessage(fmt.Sprintf(`{"app":"payments","build":"payments-build:3f8a2c1e-7d4b-4e9a-b5c6-1a2b3c4d5e6f","commit":%q,"digest":%q,"verdict":"pass",`+
			`"checks":[{"name":"compile","input":"phases of build payments-build:3f8a2c1e-7d4b-4e9a-b5c6-1a2b3c4d5e6f","passed":true,"reason":"BUILD phase succeeded"}],`+
			`"artifact":{"type":"image","repository":%q}}`, paymentsCommit, paymentsDigest, paymentsImage))})
	if err != nil {
		return err
	}
	return rt.deliver(ctx, ev)
}

// handChangePayments is someone deploying payments around Highway: dev's App
// Runner service runs another digest, staging's Deployment a tag.
func handChangePayments(rt *local, _ context.Context) error {
	rt.clock = rt.clock.Add(10 * time.Minute)
	rt.environments.set("payments", "dev", paymentsImage+"@"+paymentsHotfix)
	rt.environments.set("payments", "staging", paymentsImage+":hotfix")
	fmt.Fprintf(rt.out, "  apprunner payments-dev runs %s@%s (not through Highway)\n", paymentsImage, paymentsHotfix)
	fmt.Fprintf(rt.out, "  deployment payments/payments in platform-staging runs %s:hotfix (not through Highway)\n", paymentsImage)
	return nil
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

var demoCommand = command{
	name:     "demo",
	synopsis: "demo [--html FILE] [--ledger FILE] [--events DIR] [--policy FILE]",
	about: `replay the sample scenario from events/ in-process, print what happened,
and leave its ledger as the local hub the other commands read`,
	define: func(fs *flag.FlagSet) action {
		var f demoFiles
		fs.StringVar(&f.events, "events", "events", "the `folder` of the scenario's sample events")
		fs.StringVar(&f.policy, "policy", defaultPolicy, "the policy `FILE`")
		fs.StringVar(&f.html, "html", "", "also write the DORA page of the scenario to this `FILE`")
		fs.StringVar(&f.hub, "ledger", localHubFile, "leave the scenario's ledger in this `FILE`, the local hub (empty: leave none)")
		return func(ctx context.Context, c *cli, _ []string) error { return runDemo(ctx, c.out, f) }
	},
}

// demoFiles are what the demo reads and writes.
type demoFiles struct {
	policy, events string
	html           string // the DORA page; empty: none
	hub            string // the local hub's ledger file; empty: none
}

// demo plays the scenario and writes its DORA page to htmlFile (when set),
// leaving no local hub.
func demo(ctx context.Context, out io.Writer, policyFile, eventsDir, htmlFile string) error {
	return runDemo(ctx, out, demoFiles{policy: policyFile, events: eventsDir, html: htmlFile})
}

// runDemo plays the scenario on a new ledger, prints what it left, writes the
// DORA page, and replaces the local hub with the ledger, at once, when it is
// all done. The files it writes are checked before the scenario starts.
func runDemo(ctx context.Context, out io.Writer, f demoFiles) error {
	if f.html != "" {
		if err := writable(f.html); err != nil {
			return err
		}
	}
	if f.hub != "" {
		if err := os.MkdirAll(filepath.Dir(f.hub), 0o755); err != nil {
			return badInput("cannot write %s: %v", f.hub, err)
		}
		if err := writable(f.hub); err != nil {
			return err
		}
	}
	p, err := loadPolicy(f.policy)
	if err != nil {
		return err
	}
	// The ledger keeps the scenario's time, so that the hub it leaves is as
	// of the scenario's end.
	var rt *local
	clock := func() time.Time {
		if rt == nil {
			return time.Time{}
		}
		return rt.clock
	}
	where := "in-memory ledger"
	l := ledger.NewMemory(ledger.WithClock(clock))
	// Played in a file of its own, which replaces the hub once all is done.
	work := f.hub + ".new"
	if f.hub != "" {
		if err := os.Remove(work); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		defer os.Remove(work)
		if l, err = ledger.OpenFile(work, ledger.WithClock(clock)); err != nil {
			return err
		}
		where = "the ledger kept in " + f.hub
	}
	envs := 0
	for _, a := range p.Apps {
		envs += len(a.Environments)
	}
	fmt.Fprintf(out, "Highway demo: policy %s (%s, %s), %s, AWS calls printed, not made\n",
		f.policy, plural(len(p.Apps), "app"), plural(envs, "environment"), where)
	if rt, err = play(ctx, out, p, f.events, l, func(r *local) { rt = r }); err != nil {
		return err
	}
	rows, err := summarize(ctx, out, p, l, rt)
	if err != nil {
		return err
	}
	if f.html != "" {
		if err := writeDORAPage(ctx, out, l, p, rows, "", "", rt.clock, f.html); err != nil {
			return err
		}
	}
	if f.hub != "" {
		if err := os.Rename(work, f.hub); err != nil {
			return err
		}
	}
	return recap(ctx, out, p, l, rt, f)
}

// play runs the scenario against the ledger l, printing what happens, and
// returns the local runtime as the scenario left it.
func play(ctx context.Context, out io.Writer, p *policy.Policy, eventsDir string, l ledger.Ledger, opts ...option) (*local, error) {
	s, err := loadSamples(eventsDir)
	if err != nil {
		return nil, badInput("scenario: %v", err)
	}
	rt, err := newLocal(out, p, l, s, opts...)
	if err != nil {
		return nil, err
	}
	defer rt.Close()
	for i, st := range scenario {
		rt.step = i
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
				return nil, badInput("scenario: %v", err)
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

// redelivery says what the push EventBridge delivered twice announced the
// second time, and why.
func redelivery(rt *local) string {
	again := slices.IndexFunc(scenario, func(st step) bool { return st.again })
	if again < 1 {
		return ""
	}
	var first, second []string
	for _, a := range rt.announced {
		switch a.step {
		case again - 1:
			first = append(first, shortSHA(a.commit))
		case again:
			second = append(second, shortSHA(a.commit))
		}
	}
	if len(first) == 0 {
		return ""
	}
	if len(second) == 0 {
		return fmt.Sprintf(`The push delivered twice was recorded and announced once: the second
delivery found %s recorded and announced, and sent nothing again.
`, strings.Join(first, " and "))
	}
	var not []string
	for _, c := range first {
		if !slices.Contains(second, c) {
			not = append(not, c)
		}
	}
	s := fmt.Sprintf(`The push delivered twice was recorded once, but %s was announced twice:
the push function records a commit, then announces it, so a delivery that finds
the pushed head recorded cannot tell whether an earlier delivery's announcement
went out, and sends it again (subscribers take each commit once).
`, strings.Join(second, " and "))
	if len(not) > 0 {
		s += fmt.Sprintf(`%s was not announced again: the walk back from the head stops at the first
commit recorded before.
`, strings.Join(not, " and "))
	}
	return s
}

// recap ends the demo: what the scenario left, in a few lines, why the
// redelivered push announced again, and where to look next.
func recap(ctx context.Context, out io.Writer, p *policy.Policy, l ledger.Ledger, rt *local, f demoFiles) error {
	day := rt.clock.Add(-24 * time.Hour)
	var commits, passed, refused []string
	for _, sha := range rt.commits {
		recs, err := l.ByCommit(ctx, sha)
		if err != nil {
			return err
		}
		for _, r := range recs {
			switch r := r.(type) {
			case *ledger.Commit:
				commits = append(commits, shortSHA(sha))
			case *ledger.GateDecision:
				if r.Verdict == ledger.VerdictPass {
					passed = append(passed, shortSHA(sha))
					continue
				}
				var failed []string
				for _, c := range r.Checks {
					if !c.Passed && !c.Waived {
						failed = append(failed, c.Name)
					}
				}
				refused = append(refused, shortSHA(sha)+" ("+strings.Join(failed, ", ")+")")
			}
		}
	}
	var deployments []string
	for _, a := range p.Apps {
		for _, e := range a.Environments {
			deps, err := l.Deployments(ctx, a.Name, e.Name, day, rt.clock.Add(time.Nanosecond))
			if err != nil {
				return err
			}
			if len(deps) > 0 {
				deployments = append(deployments, fmt.Sprintf("%s/%s %d", a.Name, e.Name, len(deps)))
			}
		}
	}
	incs, err := listIncidents(ctx, l, p, false, day, rt.clock)
	if err != nil {
		return err
	}
	var incidents []string
	for _, inc := range incs {
		state := "open"
		if !inc.ResolvedAt.IsZero() {
			state = "restored in " + inc.ResolvedAt.Sub(inc.At).Round(time.Second).String()
		}
		incidents = append(incidents, fmt.Sprintf("%s in %s/%s, %s", alarmName(inc.Alarm), inc.App, inc.Env, state))
	}
	reports, err := l.CurrentDriftReports(ctx)
	if err != nil {
		return err
	}
	var drifted []string
	for _, r := range reports {
		if r.Status != runtimecheck.StatusInSync { // a stack's, CloudFormation's, is the same word
			drifted = append(drifted, drift.Checked(r)+" "+r.Status)
		}
	}
	fmt.Fprintf(out, "\nSummary:\n")
	for _, line := range [][2]string{
		{"commits", strings.Join(commits, ", ") + " recorded"},
		{"gate", "passed " + orNone(strings.Join(passed, ", ")) + "; refused " + orNone(strings.Join(refused, ", "))},
		{"deployments", orNone(strings.Join(deployments, ", "))},
		{"incidents", orNone(strings.Join(incidents, "; "))},
		{"drift", orNone(strings.Join(drifted, "; "))},
	} {
		fmt.Fprintf(out, "  %-12s %s\n", line[0], line[1])
	}
	if why := redelivery(rt); why != "" {
		fmt.Fprintf(out, "\n%s", why)
	}
	if f.html != "" {
		fmt.Fprintf(out, "\nThe DORA page: open %s\n", f.html)
	}
	if f.hub != localHubFile {
		return nil
	}
	fmt.Fprintf(out, "\nThe local hub: %s, as of %s.\nWith %s unset, the local command reads and acts on it\n(make highway builds it); try:\n",
		f.hub, rt.clock.UTC().Format("2006-01-02 15:04Z"), function.EnvTable)
	try := []string{"incidents", "dora --html " + cmp.Or(f.html, "dora.html"), "drift report"}
	if len(passed) > 0 {
		try = append([]string{"timeline " + passed[0]}, try...)
	}
	if id, approver, err := decidedApproval(ctx, l, promoted); err != nil {
		return err
	} else if id != "" {
		try = append(try, "approve "+id+" --as "+approver+"   (decided in the demo: it says by whom)")
	}
	for _, t := range try {
		fmt.Fprintf(out, "  build/highway %s\n", t)
	}
	return nil
}

// decidedApproval is the approval request of the artifact of digest, and an
// approver who did not approve it; none when it had no approval.
func decidedApproval(ctx context.Context, l ledger.Ledger, digest string) (id, approver string, err error) {
	recs, err := l.ByDigest(ctx, digest)
	if err != nil {
		return "", "", err
	}
	for _, r := range recs {
		if req, ok := r.(*ledger.ApprovalRequest); ok && len(req.Approvers) > 0 {
			id, approver = req.ID, req.Approvers[0]
			for _, a := range req.Approvers {
				if !slices.Contains(req.Approved, a) {
					approver = a
					break
				}
			}
		}
	}
	return id, approver, nil
}

// shortSHA is the first seven digits of a commit's SHA.
func shortSHA(sha string) string { return sha[:min(7, len(sha))] }
