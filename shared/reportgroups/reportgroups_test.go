package reportgroups

import (
	"context"
	"errors"
	"fmt"
	"github.com/highwayhq/highway/shared/evidence"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	cbtypes "github.com/aws/aws-sdk-go-v2/service/codebuild/types"

	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/report"
)

const (
	buildID    = "checkout-build:b5f1b25e-6315-5b77-bc06-2cf217427490"
	buildARN   = "arn:aws:codebuild:eu-west-1:222222222222:build/" + buildID
	reportBase = "arn:aws:codebuild:eu-west-1:222222222222:report/checkout-build-"
	unitARN    = reportBase + "unit:2a4c6e80-1b3d-4f5a-9e7c-0d2b4f6a8c1e"
	coverARN   = reportBase + "coverage:7e9a1c3b-5d7f-4b2a-8c6e-1f3a5c7e9b2d"
)

// codeBuildFake starts a fake CodeBuild whose build buildID lists
// reportArns, and whose reports are the given ones, by ARN.
func codeBuildFake(t *testing.T, reportArns []string, reports ...map[string]any) (*awsfake.Server, Reader) {
	t.Helper()
	srv := awsfake.New(t)
	srv.OnFunc("BatchGetBuilds", func(r awsfake.Request) awsfake.Response {
		var in struct{ IDs []string }
		if err := r.DecodeJSON(&in); err != nil || !slices.Equal(in.IDs, []string{buildID}) {
			return awsfake.JSONOf(t, map[string]any{"builds": []any{}, "buildsNotFound": in.IDs})
		}
		return awsfake.JSONOf(t, map[string]any{"builds": []any{map[string]any{
			"id": buildID, "arn": buildARN, "projectName": "checkout-build", "buildStatus": "SUCCEEDED", "reportArns": reportArns,
		}}})
	})
	byARN := map[string]map[string]any{}
	for _, r := range reports {
		byARN[r["arn"].(string)] = r
	}
	srv.OnFunc("BatchGetReports", func(r awsfake.Request) awsfake.Response {
		var in struct {
			ReportArns []string `json:"reportArns"`
		}
		if err := r.DecodeJSON(&in); err != nil {
			return awsfake.APIError(400, "InvalidInputException", err.Error())
		}
		found, missing := []any{}, []string{}
		for _, arn := range in.ReportArns {
			if rep, ok := byARN[arn]; ok {
				found = append(found, rep)
			} else {
				missing = append(missing, arn)
			}
		}
		return awsfake.JSONOf(t, map[string]any{"reports": found, "reportsNotFound": missing})
	})
	return srv, Reader{API: codebuild.NewFromConfig(srv.Config())}
}

func testReport(arn, status string) map[string]any {
	return map[string]any{"arn": arn, "type": "TEST", "name": "checkout-build-unit", "status": status, "truncated": false}
}

func coverageReport(arn string, covered, missed int) map[string]any {
	return map[string]any{"arn": arn, "type": "CODE_COVERAGE", "name": "checkout-build-coverage", "status": "SUCCEEDED",
		"codeCoverageSummary": map[string]any{"linesCovered": covered, "linesMissed": missed, "lineCoveragePercentage": 0}}
}

func tc(suite, prefix, name, status string, d time.Duration, msg string) map[string]any {
	c := map[string]any{"reportArn": unitARN, "prefix": prefix, "name": name, "status": status, "durationInNanoSeconds": d.Nanoseconds()}
	if suite != "" {
		c["testSuiteName"] = suite
	}
	if msg != "" {
		c["message"] = msg
	}
	return c
}

// testCasePages answers DescribeTestCases with pages, chained by nextToken.
func testCasePages(t *testing.T, srv *awsfake.Server, pages ...[]map[string]any) {
	t.Helper()
	srv.OnFunc("DescribeTestCases", func(r awsfake.Request) awsfake.Response {
		var in struct {
			ReportArn string `json:"reportArn"`
			NextToken string `json:"nextToken"`
		}
		if err := r.DecodeJSON(&in); err != nil {
			return awsfake.APIError(400, "InvalidInputException", err.Error())
		}
		i := 0
		if in.NextToken != "" {
			if _, err := fmt.Sscanf(in.NextToken, "page-%d", &i); err != nil || i < 1 || i >= len(pages) {
				return awsfake.APIError(400, "InvalidInputException", "bad nextToken "+in.NextToken)
			}
		}
		out := map[string]any{"testCases": pages[i]}
		if i+1 < len(pages) {
			out["nextToken"] = fmt.Sprintf("page-%d", i+1)
		}
		return awsfake.JSONOf(t, out)
	})
}

func TestCodeBuildReportsFollowsPages(t *testing.T) {
	srv, c := codeBuildFake(t, []string{unitARN}, testReport(unitARN, "FAILED"))
	testCasePages(t, srv,
		[]map[string]any{
			tc("checkout/cart", "checkout/cart", "TestAdd", "SUCCEEDED", 120*time.Millisecond, ""),
			tc("checkout/cart", "checkout/cart", "TestRemove", "FAILED", 300*time.Millisecond, "cart_test.go:42: want 1 item, got 2"),
		},
		[]map[string]any{
			tc("checkout/payment", "checkout/payment", "TestCharge", "ERROR", 2*time.Second, "panic: nil map"),
			tc("checkout/cart", "checkout/cart", "TestEmpty", "SKIPPED", 0, "needs a database"),
		},
		[]map[string]any{
			tc("", "checkout/legacy", "TestOld", "UNKNOWN", time.Millisecond, ""),
		},
	)
	// The second page is throttled once; the SDK retries it.
	srv.Inject(awsfake.Fault{Operation: "DescribeTestCases", Kind: awsfake.Throttle, Every: 2, First: 2})

	tests, cov := c.Read(context.Background(), buildARN)

	if tests.Err != nil || !tests.Found {
		t.Fatalf("tests = Found %v, Err %v; want found", tests.Found, tests.Err)
	}
	want := report.Tests{Suites: []report.Suite{
		{Name: "checkout/cart", Duration: 420 * time.Millisecond, Cases: []report.Case{
			{Class: "checkout/cart", Name: "TestAdd", Duration: 120 * time.Millisecond, Status: report.Passed},
			{Class: "checkout/cart", Name: "TestRemove", Duration: 300 * time.Millisecond, Status: report.Failed, Message: "cart_test.go:42: want 1 item, got 2"},
			{Class: "checkout/cart", Name: "TestEmpty", Status: report.Skipped, Message: "needs a database"},
		}},
		{Name: "checkout/payment", Duration: 2 * time.Second, Cases: []report.Case{
			{Class: "checkout/payment", Name: "TestCharge", Duration: 2 * time.Second, Status: report.Errored, Message: "panic: nil map"},
		}},
		{Name: "checkout-build-unit", Duration: time.Millisecond, Cases: []report.Case{
			{Class: "checkout/legacy", Name: "TestOld", Duration: time.Millisecond, Status: report.Errored, Message: `CodeBuild test status "UNKNOWN". `},
		}},
	}}
	if !reflect.DeepEqual(tests.Value, report.Merge(want)) {
		t.Errorf("tests.Value =\n%+v\nwant\n%+v", tests.Value, want)
	}
	if tests.From != unitARN {
		t.Errorf("tests.From = %q, want %q", tests.From, unitARN)
	}
	if cov.Found || cov.Err != nil {
		t.Errorf("cov = Found %v, Err %v; want not found (no coverage report)", cov.Found, cov.Err)
	}

	// One call a page, the second throttled at first and retried by the SDK.
	var tokens []string
	for _, r := range srv.Invocations("DescribeTestCases") {
		var in struct {
			ReportArn  string `json:"reportArn"`
			NextToken  string `json:"nextToken"`
			MaxResults int    `json:"maxResults"`
			Filter     any    `json:"filter"`
		}
		if err := r.DecodeJSON(&in); err != nil {
			t.Fatal(err)
		}
		if in.ReportArn != unitARN || in.Filter != nil || in.MaxResults != 100 {
			t.Errorf("DescribeTestCases call %d = %+v, want report %s, no filter, 100 per page", r.Call, in, unitARN)
		}
		tokens = append(tokens, fmt.Sprintf("%s/%s", in.NextToken, r.Fault))
	}
	if want := []string{"/none", "page-1/Throttle", "page-2/none"}; !slices.Equal(tokens, want) {
		t.Errorf("DescribeTestCases calls (token/first attempt's fault) = %v, want %v", tokens, want)
	}
	var in struct{ IDs []string }
	if calls := srv.Invocations("BatchGetBuilds"); len(calls) != 1 || calls[0].DecodeJSON(&in) != nil || !slices.Equal(in.IDs, []string{buildID}) {
		t.Errorf("BatchGetBuilds was asked for %v, want the build id %s once", in.IDs, buildID)
	}
}

func TestCodeBuildReportsCoverage(t *testing.T) {
	second := reportBase + "coverage-ui:0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e"
	_, c := codeBuildFake(t, []string{coverARN, second}, coverageReport(coverARN, 840, 160), coverageReport(second, 50, 50))

	tests, cov := c.Read(context.Background(), buildID)

	if tests.Found || tests.Err != nil {
		t.Errorf("tests = Found %v, Err %v; want not found (no test report)", tests.Found, tests.Err)
	}
	want := report.Coverage{Format: "codebuild", Covered: 890, Total: 1100}
	if cov.Err != nil || !cov.Found || cov.Value != want {
		t.Errorf("cov = %+v, Found %v, Err %v; want %+v", cov.Value, cov.Found, cov.Err, want)
	}
	if want := coverARN + ", " + second; cov.From != want {
		t.Errorf("cov.From = %q, want %q", cov.From, want)
	}
}

func TestCodeBuildReportsWithoutReports(t *testing.T) {
	srv, c := codeBuildFake(t, nil)

	tests, cov := c.Read(context.Background(), buildID)

	if tests.Found || tests.Err != nil || cov.Found || cov.Err != nil {
		t.Errorf("Read() = tests (Found %v, Err %v), cov (Found %v, Err %v); want neither found", tests.Found, tests.Err, cov.Found, cov.Err)
	}
	if n := len(srv.Invocations("BatchGetReports")); n != 0 {
		t.Errorf("BatchGetReports called %d times for a build without reports", n)
	}
}

func TestCodeBuildReportsBatchesReportARNs(t *testing.T) {
	var arns []string
	var reports []map[string]any
	for i := range 120 {
		arn := fmt.Sprintf("%scoverage-%03d:uuid", reportBase, i)
		arns = append(arns, arn)
		reports = append(reports, coverageReport(arn, 1, 1))
	}
	srv, c := codeBuildFake(t, arns, reports...)

	_, cov := c.Read(context.Background(), buildID)

	if cov.Err != nil || cov.Value.Total != 240 {
		t.Errorf("cov = %+v, Err %v; want 240 lines over 120 reports", cov.Value, cov.Err)
	}
	// One batch a call Read made: an attempt the SDK repeated is the same batch.
	var sizes []int
	for _, r := range srv.Invocations("BatchGetReports") {
		var in struct {
			ReportArns []string `json:"reportArns"`
		}
		if err := r.DecodeJSON(&in); err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(in.ReportArns))
	}
	if want := []int{100, 20}; !slices.Equal(sizes, want) {
		t.Errorf("BatchGetReports batch sizes = %v, want %v", sizes, want)
	}
}

func TestCodeBuildReportsRetriesThrottling(t *testing.T) {
	srv, c := codeBuildFake(t, []string{coverARN}, coverageReport(coverARN, 9, 1))
	srv.Inject(awsfake.Fault{Operation: "BatchGetBuilds", Kind: awsfake.Throttle, First: 2})

	_, cov := c.Read(context.Background(), buildID)

	if cov.Err != nil || cov.Value.Covered != 9 {
		t.Errorf("cov = %+v, Err %v; want the report read after retries", cov.Value, cov.Err)
	}
	if calls, n := srv.Calls("BatchGetBuilds"), len(srv.Invocations("BatchGetBuilds")); n != 1 || len(calls) < 3 || calls[len(calls)-1].Fault != 0 {
		t.Errorf("BatchGetBuilds called %d times in %d attempts, want once, in at least 3: two throttled, then answered", n, len(calls))
	}
}

func TestCodeBuildReports5xxStorm(t *testing.T) {
	srv, c := codeBuildFake(t, []string{coverARN}, coverageReport(coverARN, 9, 1))
	srv.Inject(awsfake.Fault{Operation: "BatchGetReports", Kind: awsfake.InternalFailure})

	tests, cov := c.Read(context.Background(), buildID)

	for kind, err := range map[string]error{"tests": tests.Err, "coverage": cov.Err} {
		if err == nil || !strings.Contains(err.Error(), "InternalFailure") {
			t.Errorf("%s.Err = %v, want the InternalFailure after retries", kind, err)
		}
	}
	if n := len(srv.Calls("BatchGetReports")); n < 2 {
		t.Errorf("BatchGetReports called %d times, want the SDK's retries", n)
	}
}

func TestCodeBuildReportsUnreadable(t *testing.T) {
	truncated := testReport(unitARN, "SUCCEEDED")
	truncated["truncated"] = true
	noSummary := coverageReport(coverARN, 0, 0)
	delete(noSummary, "codeCoverageSummary")
	page := []map[string]any{
		tc("s", "p", "A", "SUCCEEDED", 0, ""), tc("s", "p", "B", "SUCCEEDED", 0, ""), tc("s", "p", "C", "SUCCEEDED", 0, ""),
	}

	tests := []struct {
		name        string
		build       string
		arns        []string
		reports     []map[string]any
		maxCases    int
		wantTests   string
		wantCov     string
		wantPending bool
	}{
		{name: "build not found", build: "checkout-build:0000", wantTests: "not found", wantCov: "not found"},
		{name: "report not found", build: buildID, arns: []string{unitARN}, wantTests: "not found: " + unitARN, wantCov: "not found: " + unitARN},
		{name: "report generating", build: buildID, arns: []string{unitARN}, reports: []map[string]any{testReport(unitARN, "GENERATING")},
			wantTests: "still generating", wantPending: true},
		{name: "report incomplete", build: buildID, arns: []string{unitARN}, reports: []map[string]any{testReport(unitARN, "INCOMPLETE")},
			wantTests: "INCOMPLETE"},
		{name: "report truncated", build: buildID, arns: []string{unitARN}, reports: []map[string]any{truncated}, wantTests: "truncated"},
		{name: "coverage without summary", build: buildID, arns: []string{coverARN}, reports: []map[string]any{noSummary},
			wantCov: "no line coverage summary"},
		{name: "more test cases than allowed", build: buildID, arns: []string{unitARN}, reports: []map[string]any{testReport(unitARN, "SUCCEEDED")},
			maxCases: 5, wantTests: "more than the 5 test cases"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := codeBuildFake(t, tt.arns, tt.reports...)
			testCasePages(t, srv, page, page, page)
			c.MaxTestCases = tt.maxCases

			tests, cov := c.Read(context.Background(), tt.build)

			checkInput(t, "tests", tests.Found, tests.Err, tt.wantTests)
			checkInput(t, "coverage", cov.Found, cov.Err, tt.wantCov)
			if got := errors.Is(tests.Err, evidence.ErrPending); got != tt.wantPending {
				t.Errorf("errors.Is(%v, evidence.ErrPending) = %v, want %v", tests.Err, got, tt.wantPending)
			}
		})
	}
}

func TestTestCaseStatus(t *testing.T) {
	tests := []struct {
		give string
		want report.Status
	}{
		{"SUCCEEDED", report.Passed},
		{"FAILED", report.Failed},
		{"ERROR", report.Errored},
		{"SKIPPED", report.Skipped},
		{"UNKNOWN", report.Errored},
		{"", report.Errored},
	}
	for _, tt := range tests {
		if got := testCase(cbtypes.TestCase{Status: aws.String(tt.give)}).Status; got != tt.want {
			t.Errorf("testCase(status %q).Status = %q, want %q", tt.give, got, tt.want)
		}
	}
}

func TestTestCaseMessageShortened(t *testing.T) {
	long := strings.Repeat("é", maxMessage) // two bytes a rune
	got := testCase(cbtypes.TestCase{Status: aws.String("FAILED"), Message: aws.String(long)}).Message
	if len(got) > maxMessage+len("…") || !strings.HasSuffix(got, "…") || !strings.HasPrefix(long, strings.TrimSuffix(got, "…")) {
		t.Errorf("testCase(%d-byte message).Message has %d bytes, want at most %d, cut on a rune", len(long), len(got), maxMessage)
	}
}

// checkInput asserts an input is missing (want ""), read (want "ok") or
// unreadable with an error containing want.
func checkInput(t *testing.T, kind string, found bool, err error, want string) {
	t.Helper()
	switch want {
	case "":
		if found || err != nil {
			t.Errorf("%s = Found %v, Err %v; want not found", kind, found, err)
		}
	case "ok":
		if !found || err != nil {
			t.Errorf("%s = Found %v, Err %v; want found and read", kind, found, err)
		}
	default:
		if !found || err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s = Found %v, Err %v; want found, with an error containing %q", kind, found, err, want)
		}
	}
}
