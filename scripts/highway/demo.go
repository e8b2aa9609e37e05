package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/timeline"
)

// step is one moment of the demo scenario: a sample event, as AWS would deliver
// it, and what it stands for.
type step struct {
	file string
	says string
}

// scenario is the story the demo tells, in order. Each capability adds its steps.
var scenario = []step{
	{"codecommit-push.json", "a developer pushes two commits to checkout-service main"},
	{"codecommit-push.json", "EventBridge delivers the same event again (delivery is at least once)"},
	{"codebuild-build-succeeded.json", "checkout-pipeline builds 9f4e2c1: tests pass, no findings"},
	{"codecommit-push-2.json", "a developer pushes a commit adding a Python report script"},
	{"codebuild-build-vulnerable.json", "checkout-pipeline builds c3a97e0: Trivy and the ECR scan find critical CVEs"},
}

func demo(ctx context.Context, out io.Writer, policyFile, eventsDir string) error {
	p, err := policy.Load(policyFile)
	if err != nil {
		return err
	}
	s, err := loadSamples(eventsDir)
	if err != nil {
		return fmt.Errorf("scenario: %w", err)
	}
	l := ledger.NewMemory()
	rt, err := newLocal(out, p, l, s)
	if err != nil {
		return err
	}
	envs := 0
	for _, a := range p.Apps {
		envs += len(a.Environments)
	}
	fmt.Fprintf(out, "Highway demo: policy %s (%s, %s), in-memory ledger, AWS calls printed, not made\n",
		policyFile, plural(len(p.Apps), "app"), plural(envs, "environment"))

	for _, s := range scenario {
		path := filepath.Join(eventsDir, s.file)
		event, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("scenario: %w", err)
		}
		fmt.Fprintf(out, "\n▶ %s (%s)\n", s.says, path)
		if err := rt.deliver(ctx, event); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}

	for _, sha := range rt.commits {
		recs, err := l.ByCommit(ctx, sha)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "\nTimeline of commit %s:\n", sha)
		if err := timeline.Write(out, recs); err != nil {
			return err
		}
	}
	return nil
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
