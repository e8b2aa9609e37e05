package route

import (
	"github.com/highwayhq/highway/shared/policy"

	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
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

// testPolicy is a policy with one gated app, the shape the route table reads.
func testPolicy() *policy.Policy {
	return &policy.Policy{Apps: []policy.App{
		{Name: "checkout", Repository: "checkout-service", Gate: &policy.Gate{Projects: []string{"checkout-build", "checkout-scan"}}},
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
	// The exact rule pattern the CDK app deploys for the push function.
	// Each repository once, in policy order.
	const want = `{"detail":{"event":["referenceCreated","referenceUpdated"],"referenceType":["branch"],` +
		`"repositoryName":["checkout-service","ledger-service"]},` +
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
	// The gated projects of every app, each once; builds still running are not sent.
	const want = `{"detail":{"build-status":["SUCCEEDED","FAILED","STOPPED"],"project-name":["checkout-build","checkout-scan"]},` +
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
