package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/function"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/route"
)

// TestMain keeps the tests off any hub the environment names: the commands
// read the local hub each test gives them.
func TestMain(m *testing.M) {
	for _, name := range []string{function.EnvTable, function.EnvTopic, function.EnvBus, envApprover} {
		os.Unsetenv(name)
	}
	os.Exit(m.Run())
}

// testNow is the clock of the commands the tests run, a day after the
// demo's scenario.
var testNow = time.Date(2026, 11, 19, 9, 0, 0, 0, time.UTC)

// result is what one run of highway printed, and its exit status.
type result struct {
	out, errOut string
	status      int
}

// highway runs the command with args as main does, with the local hub in
// the file hub.
func highway(t *testing.T, hub string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	c := &cli{out: &out, errOut: &errOut, now: func() time.Time { return testNow }, localHub: hub}
	status := c.main(context.Background(), args)
	return result{out: out.String(), errOut: errOut.String(), status: status}
}

// demoHub is a local hub as the demo leaves it, in a file of the test's.
func demoHub(t *testing.T) string {
	t.Helper()
	hub := filepath.Join(t.TempDir(), "highway-local.json")
	if err := runDemo(context.Background(), io.Discard, demoFiles{policy: "../../infra/highway.yaml", events: "../../events", hub: hub}); err != nil {
		t.Fatal(err)
	}
	return hub
}

// randomParts are the demo output's random parts: approval ids and signatures.
var randomParts = regexp.MustCompile(`(apr-|sig=)[A-Za-z0-9_-]+`)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

func TestDemoPrintsTheTimeline(t *testing.T) {
	r := highway(t, "", "demo", "-events", "../../events", "-policy", "../../infra/highway.yaml", "-ledger", "")
	if r.status != 0 {
		t.Fatalf("demo: exit status %d\n%s\n%s", r.status, r.errOut, r.out)
	}
	var out bytes.Buffer
	out.WriteString(r.out)
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
	// Drift: the hand-added security group rules, of a stack and of a
	// Terraform workspace, and dev running the image the gate refused; prod
	// runs what was promoted.
	drift := out.String()[strings.Index(out.String(), "Drift (highway drift report):"):]
	for _, want := range []string{
		"checkout-prod-network                    DRIFTED",
		"CRITICAL MODIFIED  AWS::EC2::SecurityGroup WebSecurityGroup",
		"ADD /SecurityGroupIngress/2",
		"terraform:network-prod                   DRIFTED",
		"CRITICAL MODIFIED  aws_security_group aws_security_group.web",
		`ADD ingress[0]: - → {"cidr_blocks":["0.0.0.0/0"]`,
		"checkout/dev                             DIGEST_MISMATCH",
		"runs sha256:1d9a4f7c2e5b",
		"checkout/prod                            IN_SYNC",
	} {
		if !strings.Contains(drift, want) {
			t.Errorf("the drift report does not show %q", want)
		}
	}
	// Two drift rounds: each starts the workspace's plan; the stack's and the
	// workspace's drift are each announced once, and artifact drift once
	// per environment changed by hand (checkout/dev, then payments' dev and
	// staging).
	for want, times := range map[string]int{`would publish "Drift Detected"`: 2, `would publish "Artifact Drift"`: 3, "codebuild:StartBuild ProjectName=terraform-drift-network-prod": 2} {
		if n := strings.Count(out.String(), want); n != times {
			t.Errorf("the demo shows %q %d times, want %d", want, n, times)
		}
	}
	// App Runner, EKS and GitOps: payments is deployed to each, its rollout
	// followed to its end, found in sync, then found changed by hand.
	for _, want := range []string{
		"[222222222222/eu-west-1] apprunner:UpdateService ServiceArn=<its ARN> SourceConfiguration.ImageRepository.ImageIdentifier=payments-service@" + paymentsDigest,
		"apprunner:ListOperations ServiceArn=<the ARN of payments-dev> → the UPDATE_SERVICE operation SUCCEEDED",
		"[333333333333/eu-west-1] kubernetes: PATCH /apis/apps/v1/namespaces/payments/deployments/payments (strategic merge: container app image=payments-service@" + paymentsDigest,
		"[333333333333/eu-west-1] kubernetes: GET /apis/apps/v1/namespaces/payments/deployments/payments → container app runs " + paymentsDigest + ", rollout complete",
		"[444444444444/eu-west-1] codecommit:CreateCommit RepositoryName=platform-gitops BranchName=main ParentCommitId=<head>",
		"runtime payments/dev       IN_SYNC          apprunner payments-dev: payments-service@" + paymentsDigest,
		"runtime payments/staging   IN_SYNC          eks platform-staging payments/payments container app: payments-service@" + paymentsDigest,
		"runtime payments/prod      IN_SYNC          eks platform-prod payments/payments container app: payments-service@" + paymentsDigest,
		"runtime payments/dev       DIGEST_MISMATCH  apprunner payments-dev: payments-service@" + paymentsHotfix,
		"runtime payments/staging   UNVERIFIABLE     eks platform-staging payments/payments container app: payments-service:hotfix",
		"to payments/prod  success",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the demo does not show %q", want)
		}
	}
	if n := strings.Count(out.String(), "  commit  "); n != 6 {
		t.Errorf("timelines show %d commit lines, want 6: two pushes to CodeCommit brought three commits, one to GitHub two, and payments' gated one", n)
	}
	// GitHub: the push delivered to the webhook is recorded, its redelivery
	// changes nothing, and its head is built, gated and deployed to dev.
	for _, want := range []string{
		`webhook → HTTP 200 {"delivery":"703e4750-c074-4286-a44a-d48a91dccbd6","outcome":"recorded","app":"storefront"`,
		`webhook → HTTP 200 {"delivery":"703e4750-c074-4286-a44a-d48a91dccbd6","outcome":"duplicate"`,
		"Gate PASS for storefront build storefront-build:e2a7c4f1-9b3d-4e6a-8c0f-5d1b7a3e9c24 (commit 7d1f0c4a8e2b)",
		"ssm:PutParameter Name=/storefront/dev/image",
		"commit        7d1f0c4a8e2b  octo-org/storefront@main  app storefront  committed 2026-11-17 12:04:37Z",
		"storefront/dev     7d     1, 0.14/day [high]       12m19s / 12m19s [elite]",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the demo does not show %q", want)
		}
	}
}

// The demo ends with what happened, why the redelivered push was announced
// again, where its page is, and the commands to try on the hub it leaves,
// which find it where the demo left it and read the scenario's week.
func TestDemoLeavesTheLocalHub(t *testing.T) {
	events, err := filepath.Abs("../../events")
	if err != nil {
		t.Fatal(err)
	}
	policyFile, err := filepath.Abs("../../infra/highway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	r := highway(t, localHubFile, "demo", "--events", events, "--policy", policyFile, "--html", "dora.html")
	if r.status != 0 {
		t.Fatalf("demo: exit status %d\n%s", r.status, r.errOut)
	}
	f, err := ledger.OpenFile(localHubFile)
	if err != nil {
		t.Fatalf("the demo left no hub: %v", err)
	}
	asOf := f.Written().Format("2006-01-02 15:04Z")
	end := r.out[strings.Index(r.out, "\nSummary:"):]
	for _, want := range []string{
		"\n  commits      ", "\n  deployments  ",
		"\n  gate         passed 9f4e2c1", "refused c3a97e0 (security)",
		"\n  incidents    checkout-prod-5xx in checkout/prod, restored in 14m0s",
		"\n  drift        checkout-prod-network DRIFTED",
		"The push delivered twice was recorded once, but 9f4e2c1 was announced twice",
		"5c8a0e2 was not announced again: the walk back from the head stops",
		"The DORA page: open dora.html",
		"The local hub: build/highway-local.json, as of " + asOf + ".",
		"build/highway timeline 9f4e2c1\n",
		"build/highway approve apr-",
	} {
		if !strings.Contains(end, want) {
			t.Errorf("the demo's end lacks %q:\n%s", want, end)
		}
	}
	if _, err := os.Stat(localHubFile + ".new"); !os.IsNotExist(err) {
		t.Errorf("the demo left its working file %s.new (%v)", localHubFile, err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"timeline", "9f4e2c1"}, "approved  by ana.silva@example.com"},
		{[]string{"incidents", "--policy", policyFile}, "resolved, time to restore 14m0s"},
		{[]string{"dora", "--policy", policyFile, "--html", "page.html"}, "checkout/prod      7d     1, 0.14/day [high]"},
		{[]string{"drift", "report"}, "checkout/dev                             DIGEST_MISMATCH"},
	} {
		r := highway(t, localHubFile, tt.args...)
		if r.status != 0 || !strings.Contains(r.out, tt.want) {
			t.Errorf("highway %v: exit status %d, printed\n%s%s\nwant %q", tt.args, r.status, r.out, r.errOut, tt.want)
		}
		if want := "highway: the local hub build/highway-local.json (the demo's ledger, as of " + asOf + ")"; !strings.Contains(r.errOut, want) {
			t.Errorf("highway %v: stderr %q, want it to say %q", tt.args, r.errOut, want)
		}
	}
}

// The demo checks what it will write before it plays anything.
func TestDemoChecksItsFilesFirst(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"a page in a folder that does not exist", []string{"--html", filepath.Join(dir, "nope", "dora.html")},
			"cannot write " + filepath.Join(dir, "nope", "dora.html") + ": folder " + filepath.Join(dir, "nope") + " does not exist"},
		{"a page that is a folder", []string{"--html", dir}, "cannot write " + dir + ": it is a folder"},
		{"a ledger that is a folder", []string{"--ledger", dir}, "cannot write " + dir + ": it is a folder"},
		{"no events", []string{"--events", dir}, "codecommit-getcommit.json"},
		{"a policy that does not load", []string{"--policy", filepath.Join(dir, "highway.yaml")}, "highway.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"demo", "--events", "../../events", "--policy", "../../infra/highway.yaml", "--ledger", ""}, tt.args...)
			r := highway(t, "", args...)
			if r.status != 2 || !strings.Contains(r.errOut, tt.want) {
				t.Errorf("highway %v: exit status %d, stderr %q; want 2 and %q", args, r.status, r.errOut, tt.want)
			}
			if strings.Contains(r.out, "▶") {
				t.Errorf("highway %v played the scenario before failing:\n%s", args, r.out)
			}
		})
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
