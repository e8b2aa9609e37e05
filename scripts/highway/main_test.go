package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/route"
)

// randomParts are the demo output's random parts: approval ids and signatures.
var randomParts = regexp.MustCompile(`(apr-|sig=)[A-Za-z0-9_-]+`)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

func TestDemoPrintsTheTimeline(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"demo", "-events", "../../events", "-policy", "../../infra/highway.yaml"}, &out)
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	golden := "testdata/demo.golden"
	// Approval ids are random, and the link signatures cover them.
	got := randomParts.ReplaceAllString(out.String(), "$1<random>")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("demo output differs from %s (go test ./scripts/highway -update to accept):\n%s", golden, out.String())
	}
	// The redelivered push must be recognised, and the timeline hold one commit.
	if !strings.Contains(out.String(), `"outcome":"duplicate"`) {
		t.Error("the redelivered push was not reported as a duplicate")
	}
	for _, want := range []string{
		"ssm:PutParameter Name=/checkout/dev/image",
		"codepipeline:StartPipelineExecution Name=checkout-deploy-staging",
		"approval → HTTP 200",
		"ecs:UpdateService Cluster=shop Service=checkout",
		"to checkout/prod  success",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the demo does not show %q: the artifact must reach prod through its approval", want)
		}
	}
	// The alarm after the prod deployment: an incident blamed on it, a
	// rollback to last week's artifact, resolved 14 minutes later.
	for _, want := range []string{
		`promote → {"outcome":"rollback","app":"checkout","env":"prod","digest":"` + lastDigest + `"`,
		`would publish "Artifact Quarantined" {"kind":"artifact","id":"sha256:e648cabf48d6`,
		"Image=checkout-service@" + lastDigest,
		"checkout/prod  checkout-prod-5xx  opened 2026-11-17 11:52:27Z  resolved, time to restore 14m0s  blamed on dep-prm-",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the demo does not show %q", want)
		}
	}
	// DORA: prod's week has one deployment, failed (blamed and rolled back),
	// 2h0m47s from commit 9f4e2c1 (09:31:40) to its end, restored in 14m.
	if want := "checkout/prod      7d     1, 0.14/day [high]       2h0m47s / 2h0m47s [elite]      100% (1/1) [low]         14m0s (1) [elite]"; !strings.Contains(out.String(), want) {
		t.Errorf("the DORA table does not show %q", want)
	}
	// Drift: the hand-added security group rule, and dev running the image
	// the gate refused; prod runs what was promoted.
	drift := out.String()[strings.Index(out.String(), "Drift (highway drift report):"):]
	for _, want := range []string{
		"checkout-prod-network                    DRIFTED",
		"CRITICAL MODIFIED  AWS::EC2::SecurityGroup WebSecurityGroup",
		"ADD /SecurityGroupIngress/2",
		"checkout/dev                             DIGEST_MISMATCH",
		"runs sha256:1d9a4f7c2e5b",
		"checkout/prod                            IN_SYNC",
	} {
		if !strings.Contains(drift, want) {
			t.Errorf("the drift report does not show %q", want)
		}
	}
	for _, want := range []string{`would publish "Drift Detected"`, `would publish "Artifact Drift"`} {
		if n := strings.Count(out.String(), want); n != 1 {
			t.Errorf("the demo shows %q %d times, want once", want, n)
		}
	}
	if n := strings.Count(out.String(), "  commit  "); n != 3 {
		t.Errorf("timelines show %d commit lines, want 3: two pushes brought three commits", n)
	}
}

func TestDemoFailsOnMissingEvents(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"demo", "-events", t.TempDir(), "-policy", "../../infra/highway.yaml"}, &out)
	if err == nil || !strings.Contains(err.Error(), "codecommit-getcommit.json") {
		t.Errorf("demo without events = %v, want an error naming the missing file", err)
	}
}

// A route added without a local handler must break the demo, not be skipped.
func TestEveryRouteHasALocalHandler(t *testing.T) {
	p, err := policy.Load("../../infra/highway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rt, err := newLocal(&bytes.Buffer{}, p, ledger.NewMemory(), samples{})
	if err != nil {
		t.Fatalf("newLocal() = %v", err)
	}
	for _, r := range route.Routes(p) {
		if rt.handlers[r.Function] == nil {
			t.Errorf("route %q has no local handler", r.Function)
		}
	}
}

func TestUnknownCommand(t *testing.T) {
	err := run(context.Background(), []string{"deploy"}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), `unknown command "deploy"`) {
		t.Errorf("run(deploy) = %v, want an unknown-command error", err)
	}
}
