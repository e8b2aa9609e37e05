package route

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/policy/policytest"
)

// samplePath is the real-shaped CodeCommit push in the repository's events/.
var samplePath = filepath.Join("..", "..", "events", "codecommit-push.json")

func readSample(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(samplePath)
	if err != nil {
		t.Fatalf("read sample event: %v", err)
	}
	return string(b)
}

// testPolicy is a policy with two gated apps, the shape the route table reads:
// checkout is delivered from the sample push's account, the ledger apps from
// the hub's (the default, in a policy not parsed).
func testPolicy() *policy.Policy {
	return &policy.Policy{Hub: policy.Hub{Account: "111111111111", Region: "eu-west-1"}, Apps: []policy.App{
		{Name: "checkout", Repository: "checkout-service", Account: "222222222222", Gate: &policy.Gate{Projects: []string{"checkout-build", "checkout-scan"}}},
		{Name: "ledger", Repository: "ledger-service"},
		{Name: "ledger-ui", Repository: "ledger-service", Gate: &policy.Gate{Projects: []string{"checkout-build"}}},
	}}
}

func mustLookup(t *testing.T, function string) Route {
	t.Helper()
	r, ok := Lookup(testPolicy(), function)
	if !ok {
		t.Fatalf("Lookup(%q) found no route", function)
	}
	return r
}

// codecommitEvent is the sample push with its source, detail-type, detail.event
// and detail.referenceType replaced, as CodeCommit sends them for other changes.
func codecommitEvent(t *testing.T, source, detailType, event, referenceType string) []byte {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal([]byte(readSample(t)), &ev); err != nil {
		t.Fatalf("decode sample event: %v", err)
	}
	ev["source"] = source
	ev["detail-type"] = detailType
	detail := ev["detail"].(map[string]any)
	detail["event"] = event
	detail["referenceType"] = referenceType
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatalf("encode event: %v", err)
	}
	return b
}

func TestSampleEventRoundTrips(t *testing.T) {
	raw := readSample(t)
	var ev events.CloudWatchEvent
	if err := json.Unmarshal([]byte(raw), &ev); err != nil {
		t.Fatalf("decode %s: %v", samplePath, err)
	}
	var detail struct {
		CallerUserArn     string `json:"callerUserArn"`
		CommitID          string `json:"commitId"`
		Event             string `json:"event"`
		OldCommitID       string `json:"oldCommitId"`
		ReferenceFullName string `json:"referenceFullName"`
		ReferenceName     string `json:"referenceName"`
		ReferenceType     string `json:"referenceType"`
		RepositoryID      string `json:"repositoryId"`
		RepositoryName    string `json:"repositoryName"`
	}
	if err := json.Unmarshal(ev.Detail, &detail); err != nil {
		t.Fatalf("decode detail: %v", err)
	}

	sha := regexp.MustCompile(`^[0-9a-f]{40}$`)
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	checks := []struct {
		name string
		ok   bool
	}{
		{"version is 0", ev.Version == "0"},
		{"id is a UUID", uuid.MatchString(ev.ID)},
		{"source is aws.codecommit", ev.Source == "aws.codecommit"},
		{"detail-type is CodeCommit Repository State Change", ev.DetailType == "CodeCommit Repository State Change"},
		{"account is 222222222222", ev.AccountID == "222222222222"},
		{"region is eu-west-1", ev.Region == "eu-west-1"},
		{"time is in November 2026, UTC", ev.Time.Year() == 2026 && ev.Time.Month() == time.November && ev.Time.Location() == time.UTC},
		{"resources hold the repository ARN", reflect.DeepEqual(ev.Resources, []string{"arn:aws:codecommit:eu-west-1:222222222222:checkout-service"})},
		{"event is referenceUpdated", detail.Event == "referenceUpdated"},
		{"reference is branch main", detail.ReferenceType == "branch" && detail.ReferenceName == "main" && detail.ReferenceFullName == "refs/heads/main"},
		{"repository is checkout-service", detail.RepositoryName == "checkout-service"},
		{"repositoryId is a UUID", uuid.MatchString(detail.RepositoryID)},
		{"commitId is a full SHA-1", sha.MatchString(detail.CommitID)},
		{"oldCommitId is a different full SHA-1", sha.MatchString(detail.OldCommitID) && detail.OldCommitID != detail.CommitID},
		{"callerUserArn is in the account", strings.HasPrefix(detail.CallerUserArn, "arn:aws:sts::222222222222:") || strings.HasPrefix(detail.CallerUserArn, "arn:aws:iam::222222222222:")},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: not so in %s", c.name, samplePath)
		}
	}

	// Encoding the decoded envelope gives back the same JSON document.
	again, err := json.Marshal(ev)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	var want, got any
	if err := json.Unmarshal([]byte(raw), &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(again, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip of %s = %s, want the same document", samplePath, again)
	}
}

func TestPushRoute(t *testing.T) {
	const stateChange = "CodeCommit Repository State Change"
	tests := []struct {
		name          string
		source        string
		detailType    string
		event         string
		referenceType string
		want          bool
	}{
		{name: "referenceUpdated on a branch", source: "aws.codecommit", detailType: stateChange, event: "referenceUpdated", referenceType: "branch", want: true},
		{name: "referenceCreated on a branch", source: "aws.codecommit", detailType: stateChange, event: "referenceCreated", referenceType: "branch", want: true},
		{name: "referenceDeleted on a branch", source: "aws.codecommit", detailType: stateChange, event: "referenceDeleted", referenceType: "branch", want: false},
		{name: "referenceCreated on a tag", source: "aws.codecommit", detailType: stateChange, event: "referenceCreated", referenceType: "tag", want: false},
		{name: "referenceUpdated on a tag", source: "aws.codecommit", detailType: stateChange, event: "referenceUpdated", referenceType: "tag", want: false},
		{name: "unreferenced merge commit", source: "aws.codecommit", detailType: stateChange, event: "unreferencedMergeCommitCreated", referenceType: "branch", want: false},
		{name: "pull request state change", source: "aws.codecommit", detailType: "CodeCommit Pull Request State Change", event: "referenceUpdated", referenceType: "branch", want: false},
		{name: "same detail from a custom source", source: "com.example.git", detailType: stateChange, event: "referenceUpdated", referenceType: "branch", want: false},
	}
	m, err := Compile(mustLookup(t, FunctionPush).Pattern)
	if err != nil {
		t.Fatalf("Compile(push) error: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := codecommitEvent(t, tt.source, tt.detailType, tt.event, tt.referenceType)
			got, err := m.Match(ev)
			if err != nil {
				t.Fatalf("Match error: %v", err)
			}
			if got != tt.want {
				t.Errorf("Match(%s) = %v, want %v", ev, got, tt.want)
			}
		})
	}

	t.Run("the sample event in events/", func(t *testing.T) {
		got, err := m.Match([]byte(readSample(t)))
		if err != nil || !got {
			t.Errorf("Match(%s) = %v, %v; want true, nil", samplePath, got, err)
		}
	})
}

func TestRoutes(t *testing.T) {
	routes := Routes(testPolicy())
	if len(routes) == 0 {
		t.Fatal("Routes(testPolicy()) is empty")
	}
	if _, err := NewRouter(routes); err != nil {
		t.Fatalf("NewRouter(Routes(testPolicy())) error: %v", err)
	}
	for _, r := range routes {
		if strings.TrimSpace(r.Description) == "" {
			t.Errorf("route %q has no description", r.Function)
		}
		if _, err := r.Pattern.JSON(); err != nil {
			t.Errorf("route %q: JSON() error: %v", r.Function, err)
		}
	}

	// Each call builds a fresh table: changing one result leaves the next intact.
	before, err := Routes(testPolicy())[0].Pattern.JSON()
	if err != nil {
		t.Fatal(err)
	}
	changed := Routes(testPolicy())
	changed[0].Pattern["source"] = []string{"changed"}
	after, err := Routes(testPolicy())[0].Pattern.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Errorf("Routes(testPolicy())[0] after changing an earlier result = %s, want %s", after, before)
	}
}

func TestLookup(t *testing.T) {
	tests := []struct {
		name   string
		give   string
		wantOK bool
	}{
		{name: "push", give: FunctionPush, wantOK: true},
		{name: "gate", give: FunctionGate, wantOK: true},
		{name: "unknown function", give: "deploy", wantOK: false},
		{name: "names are case-sensitive", give: "Push", wantOK: false},
		{name: "empty name", give: "", wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Lookup(testPolicy(), tt.give)
			if ok != tt.wantOK {
				t.Fatalf("Lookup(%q) ok = %v, want %v", tt.give, ok, tt.wantOK)
			}
			if ok && got.Function != tt.give {
				t.Errorf("Lookup(%q).Function = %q, want %q", tt.give, got.Function, tt.give)
			}
		})
	}
}

func TestPushRouteJSON(t *testing.T) {
	// The exact rule pattern the CDK app deploys for the push function: the
	// apps' delivery accounts, each once and sorted, and no repository.
	const want = `{"account":["111111111111","222222222222"],` +
		`"detail":{"event":["referenceCreated","referenceUpdated"],"referenceType":["branch"]},` +
		`"detail-type":["CodeCommit Repository State Change"],"source":["aws.codecommit"]}`
	got, err := mustLookup(t, FunctionPush).Pattern.JSON()
	if err != nil {
		t.Fatalf("JSON() error: %v", err)
	}
	if got != want {
		t.Errorf("push Pattern.JSON() = %s, want %s", got, want)
	}
}

func TestGateRouteJSON(t *testing.T) {
	// The delivery accounts of the gated apps, each once; builds still running
	// are not sent; which project is gated, the gate decides.
	const want = `{"account":["111111111111","222222222222"],"detail":{"build-status":["SUCCEEDED","FAILED","STOPPED"]},` +
		`"detail-type":["CodeBuild Build State Change"],"source":["aws.codebuild"]}`
	got, err := mustLookup(t, FunctionGate).Pattern.JSON()
	if err != nil {
		t.Fatalf("JSON() error: %v", err)
	}
	if got != want {
		t.Errorf("gate Pattern.JSON() = %s, want %s", got, want)
	}
}

func TestNoGateRouteWithoutGatedProjects(t *testing.T) {
	p := &policy.Policy{Apps: []policy.App{{Name: "a", Repository: "r"}}}
	if r, ok := Lookup(p, FunctionGate); ok {
		t.Errorf("Lookup(gate) on a policy without gates = %+v, want none: a rule needs at least one project", r)
	}
}

func TestRespondRoute(t *testing.T) {
	const text = `version: 1
hub: {account: "111111111111", region: eu-west-1}
apps: [{name: checkout, repository: checkout-service, environments: [{name: prod, account: "444444444444", region: eu-west-1}]}]
alarms:
  runbooks: [{name: prod-errors, app: checkout, env: prod, match: {names: [checkout-*]}, actions: [notify: {}]}]
`
	p, err := policy.Parse([]byte(text), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRouter(Routes(p))
	if err != nil {
		t.Fatal(err)
	}
	sample, err := os.ReadFile("../../events/cloudwatch-alarm-state-change.json")
	if err != nil {
		t.Fatal(err)
	}
	if fns, err := r.Functions(sample); err != nil || !reflect.DeepEqual(fns, []string{FunctionRespond}) {
		t.Errorf("Functions(alarm state change) = %v, %v; want [respond]", fns, err)
	}
	other := strings.Replace(string(sample), `"CloudWatch Alarm State Change"`, `"CloudWatch Alarm Configuration Change"`, 1)
	if fns, _ := r.Functions([]byte(other)); len(fns) != 0 {
		t.Errorf("Functions(configuration change) = %v, want none", fns)
	}
	p.Alarms = nil
	for _, rt := range Routes(p) {
		if rt.Function == FunctionRespond {
			t.Error("a policy without alarms has a respond route")
		}
	}
}

// examplePolicy is infra/highway.yaml, the policy the demo and the CDK tests
// read.
func examplePolicy(t testing.TB) *policy.Policy {
	t.Helper()
	p, err := policy.Load(filepath.Join("..", "..", "infra", "highway.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// platform is the example policy grown to a platform of n apps, over central
// accounts and teams team accounts.
func platform(t testing.TB, n, central, teams int) *policy.Policy {
	t.Helper()
	p, err := policytest.Build(examplePolicy(t), policytest.Platform{Apps: n, Central: central, Teams: teams})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExamplePolicyRoutes(t *testing.T) {
	// The rules the example policy deploys: each names the accounts its events
	// come from (the hub is 111111111111; checkout is delivered from
	// 222222222222 and deployed to 222222222222 by SSM, 333333333333 by
	// pipeline and 444444444444 on ECS, where the project planning the
	// Terraform workspace also is), never an app's resource.
	tests := []struct {
		function, name string
		want           string
	}{
		{FunctionPush, "", `{"account":["222222222222"],"detail":{"event":["referenceCreated","referenceUpdated"],"referenceType":["branch"]},` +
			`"detail-type":["CodeCommit Repository State Change"],"source":["aws.codecommit"]}`},
		{FunctionGate, "", `{"account":["222222222222"],"detail":{"build-status":["SUCCEEDED","FAILED","STOPPED"]},` +
			`"detail-type":["CodeBuild Build State Change"],"source":["aws.codebuild"]}`},
		{FunctionPromote, "gate-passed", `{"detail":{"verdict":["pass"]},"detail-type":["Gate Decided"],"source":["highway"]}`},
		{FunctionPromote, "pipeline-finished", `{"account":["333333333333"],"detail":{"state":["SUCCEEDED","FAILED","STOPPED","SUPERSEDED"]},` +
			`"detail-type":["CodePipeline Pipeline Execution State Change"],"source":["aws.codepipeline"]}`},
		{FunctionPromote, "rollback-requested", `{"detail-type":["Rollback Requested"],"source":["highway"]}`},
		{FunctionPromote, "ecs-finished", `{"account":["444444444444"],"detail":{"eventName":["SERVICE_DEPLOYMENT_COMPLETED","SERVICE_DEPLOYMENT_FAILED"]},` +
			`"detail-type":["ECS Deployment State Change"],"source":["aws.ecs"]}`},
		{FunctionDrift, "", `{"account":["111111111111","222222222222","333333333333","444444444444"],` +
			`"detail-type":["CloudFormation Drift Detection Status Change"],"source":["aws.cloudformation"]}`},
		{FunctionDrift, "terraform-builds", `{"account":["444444444444"],"detail":{"build-status":["SUCCEEDED","FAILED","STOPPED"]},` +
			`"detail-type":["CodeBuild Build State Change"],"source":["aws.codebuild"]}`},
		{FunctionRespond, "", `{"account":["111111111111","222222222222","333333333333","444444444444"],` +
			`"detail-type":["CloudWatch Alarm State Change"],"source":["aws.cloudwatch"]}`},
	}
	routes := Routes(examplePolicy(t))
	if len(routes) != len(tests) {
		t.Fatalf("Routes(example) has %d routes, want %d", len(routes), len(tests))
	}
	for i, tt := range tests {
		t.Run(tt.function+" "+tt.name, func(t *testing.T) {
			r := routes[i]
			got, err := r.Pattern.JSON()
			if err != nil {
				t.Fatalf("JSON() error: %v", err)
			}
			if r.Function != tt.function || r.Name != tt.name || got != tt.want {
				t.Errorf("Routes(example)[%d] = %s %q %s, want %s %q %s", i, r.Function, r.Name, got, tt.function, tt.name, tt.want)
			}
		})
	}
}

func TestRoutesDoNotGrowWithApps(t *testing.T) {
	tests := []struct {
		name string
		give *policy.Policy
	}{
		{name: "1 app", give: platform(t, 1, 0, 1)},
		{name: "10 apps", give: platform(t, 10, 6, 4)},
		{name: "100 apps", give: platform(t, 100, 60, 20)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			routes := Routes(tt.give)
			if _, err := NewRouter(routes); err != nil {
				t.Fatalf("NewRouter(Routes) error: %v", err)
			}
			for _, r := range routes {
				text, err := r.Pattern.JSON()
				if n := utf8.RuneCountInString(text); err != nil || n > MaxPatternLength {
					t.Errorf("route %s %q: pattern of %d characters, error %v; want at most %d", r.Function, r.Name, n, err, MaxPatternLength)
				}
			}
		})
	}

	// Over the same accounts (the central one, its three shared ones, 20
	// teams' and the hub's), 40 apps and 100 have the same rules.
	few, many := Routes(platform(t, 40, 20, 20)), Routes(platform(t, 100, 60, 20))
	if got, want := routeTable(t, many), routeTable(t, few); !slices.Equal(got, want) {
		t.Errorf("routes of 100 apps =\n%s\nwant those of 40 apps over the same accounts =\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// routeTable lists each route as "function name pattern".
func routeTable(t *testing.T, routes []Route) []string {
	t.Helper()
	var out []string
	for _, r := range routes {
		text, err := r.Pattern.JSON()
		if err != nil {
			t.Fatalf("route %s %q: %v", r.Function, r.Name, err)
		}
		out = append(out, r.Function+" "+r.Name+" "+text)
	}
	return out
}

func TestByAccount(t *testing.T) {
	build := func(name string) func([]string) Route {
		return func(accounts []string) Route {
			return Route{Function: "f", Name: name, Description: "d",
				Pattern: Pattern{"source": []string{"aws.codecommit"}, "account": accounts}}
		}
	}
	accounts := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("%012d", i+1)
		}
		return out
	}
	// {"account":[],"source":["aws.codecommit"]} is 42 characters, and each
	// account adds 15 (14 for the first): 133 accounts make 2,036 characters,
	// 134 would make 2,051.
	tests := []struct {
		name      string
		route     string
		give      []string
		wantNames []string
		wantSizes []int
	}{
		{name: "no account, no route", give: nil},
		{name: "one account", give: accounts(1), wantNames: []string{""}, wantSizes: []int{1}},
		{name: "as many as fit", give: accounts(133), wantNames: []string{""}, wantSizes: []int{133}},
		{name: "one more: two shards", give: accounts(134), wantNames: []string{"", "f-2"}, wantSizes: []int{133, 1}},
		{name: "a named route's shards", route: "finished", give: accounts(300), wantNames: []string{"finished", "finished-2", "finished-3"}, wantSizes: []int{133, 133, 34}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			routes := byAccount(tt.give, build(tt.route))
			var names, got []string
			var sizes []int
			for _, r := range routes {
				text, err := r.Pattern.JSON()
				if err != nil {
					t.Fatalf("shard %q: %v", r.Name, err)
				}
				shard := r.Pattern["account"].([]string)
				names, sizes, got = append(names, r.Name), append(sizes, len(shard)), append(got, shard...)
				if len(routes) > 1 && !strings.HasSuffix(r.Description, fmt.Sprintf("(accounts %s to %s)", shard[0], shard[len(shard)-1])) {
					t.Errorf("shard %q description %q does not say its accounts", r.Name, r.Description)
				}
				if len(text) > MaxPatternLength {
					t.Errorf("shard %q is %d characters", r.Name, len(text))
				}
			}
			if !slices.Equal(names, tt.wantNames) || !slices.Equal(sizes, tt.wantSizes) || !slices.Equal(got, tt.give) {
				t.Errorf("byAccount(%d accounts) = names %q of %v accounts, %d in all; want %q of %v, every account once in order",
					len(tt.give), names, sizes, len(got), tt.wantNames, tt.wantSizes)
			}
		})
	}
}

func TestRoutesShardByAccount(t *testing.T) {
	// GIVEN a platform of 400 team accounts, each delivering and running one app
	p := platform(t, 400, 0, 400)

	// WHEN its routes are built
	routes := Routes(p)

	// THEN every pattern is within the quota, every route has a name of its
	// own (and so a rule), and an event of each account, of each kind,
	// reaches exactly one shard of its route
	router, err := NewRouter(routes)
	if err != nil {
		t.Fatalf("NewRouter(Routes) error: %v", err)
	}
	shards := map[string]int{}
	for _, r := range routes {
		text, err := r.Pattern.JSON()
		if n := utf8.RuneCountInString(text); err != nil || n > MaxPatternLength {
			t.Errorf("route %s %q: pattern of %d characters, error %v; want at most %d", r.Function, r.Name, n, err, MaxPatternLength)
		}
		shards[r.Function]++
	}
	if shards[FunctionPush] < 2 || shards[FunctionRespond] < 2 {
		t.Fatalf("routes per function = %v, want push and respond split", shards)
	}
	kinds := []struct {
		sample, function string
	}{
		{"codecommit-push.json", FunctionPush},
		{"codebuild-build-succeeded.json", FunctionGate},
		{"codepipeline-execution-succeeded.json", FunctionPromote},
		{"ecs-deployment-completed.json", FunctionPromote},
		{"cloudformation-drift-detection.json", FunctionDrift},
		{"cloudwatch-alarm-state-change.json", FunctionRespond},
	}
	for _, k := range kinds {
		for i := 1; i <= 400; i++ {
			ev := withAccount(t, readEvent(t, k.sample), policytest.TeamAccount(i))
			got, err := router.Dispatch(ev)
			if err != nil || len(got) != 1 || got[0].Function != k.function {
				t.Errorf("Dispatch(%s from %s) = %v, %v; want one route of %s", k.sample, policytest.TeamAccount(i), got, err, k.function)
			}
		}
	}
}

// readEvent reads a sample event of events/.
func readEvent(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withAccount is event sent from account.
func withAccount(t *testing.T, event []byte, account string) []byte {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(event, &ev); err != nil {
		t.Fatal(err)
	}
	ev["account"] = account
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
