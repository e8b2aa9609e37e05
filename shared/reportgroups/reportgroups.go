// Package reportgroups reads a CodeBuild build's test and coverage reports from
// its report groups, as evidence for the build gate.
package reportgroups

import (
	"context"
	"fmt"
	"github.com/highwayhq/highway/shared/evidence"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	cbtypes "github.com/aws/aws-sdk-go-v2/service/codebuild/types"

	"github.com/highwayhq/highway/shared/gate"
	"github.com/highwayhq/highway/shared/report"
)

// MaxTestCases is how many test cases Reader reads for one build by
// default; a build with more has unreadable test evidence.
const MaxTestCases = 100_000

// maxMessage is the longest test case message kept, in bytes.
const maxMessage = 1024

// batchReports is how many report ARNs one BatchGetReports call takes.
const batchReports = 100

// API is the part of the CodeBuild API that reads a build's reports.
type API interface {
	BatchGetBuilds(ctx context.Context, params *codebuild.BatchGetBuildsInput, optFns ...func(*codebuild.Options)) (*codebuild.BatchGetBuildsOutput, error)
	BatchGetReports(ctx context.Context, params *codebuild.BatchGetReportsInput, optFns ...func(*codebuild.Options)) (*codebuild.BatchGetReportsOutput, error)
	DescribeTestCases(ctx context.Context, params *codebuild.DescribeTestCasesInput, optFns ...func(*codebuild.Options)) (*codebuild.DescribeTestCasesOutput, error)
}

var _ API = (*codebuild.Client)(nil)

// Reader reads the test and code coverage reports CodeBuild keeps
// for a build (its report groups), for projects that publish reports there
// instead of, or as well as, in their artifact.
type Reader struct {
	// API is the CodeBuild client.
	API API
	// MaxTestCases bounds the test cases read per build; 0 means MaxTestCases.
	MaxTestCases int
}

// Read returns the build's test cases, merged over its TEST reports, and its
// line coverage, summed over its CODE_COVERAGE reports. build is a build id
// (project:uuid) or ARN. Found is false for a kind of report the build has
// none of. A report still being generated is an error wrapping evidence.ErrPending.
func (c Reader) Read(ctx context.Context, build string) (tests gate.Input[report.Tests], cov gate.Input[report.Coverage]) {
	reports, err := c.reports(ctx, build)
	if err != nil {
		return gate.Input[report.Tests]{From: build, Found: true, Err: err},
			gate.Input[report.Coverage]{From: build, Found: true, Err: err}
	}
	var testReports, covReports []cbtypes.Report
	for _, r := range reports {
		switch r.Type {
		case cbtypes.ReportTypeTest:
			testReports = append(testReports, r)
		case cbtypes.ReportTypeCodeCoverage:
			covReports = append(covReports, r)
		}
	}
	return c.tests(ctx, testReports), coverage(covReports)
}

// reports fetches the build and then its reports.
func (c Reader) reports(ctx context.Context, build string) ([]cbtypes.Report, error) {
	id := evidence.BuildID(build)
	out, err := c.API.BatchGetBuilds(ctx, &codebuild.BatchGetBuildsInput{Ids: []string{id}})
	if err != nil {
		return nil, fmt.Errorf("get build %s: %w", id, err)
	}
	if len(out.Builds) == 0 {
		return nil, fmt.Errorf("build %s not found", id)
	}
	arns := out.Builds[0].ReportArns
	var reports []cbtypes.Report
	for chunk := range chunks(arns, batchReports) {
		out, err := c.API.BatchGetReports(ctx, &codebuild.BatchGetReportsInput{ReportArns: chunk})
		if err != nil {
			return nil, fmt.Errorf("get reports of build %s: %w", id, err)
		}
		if len(out.ReportsNotFound) > 0 {
			// An unknown report could be a failing test report: fail closed.
			return nil, fmt.Errorf("reports of build %s not found: %s", id, strings.Join(out.ReportsNotFound, ", "))
		}
		reports = append(reports, out.Reports...)
	}
	return reports, nil
}

// chunks yields s in pieces of at most n.
func chunks[T any](s []T, n int) func(func([]T) bool) {
	return func(yield func([]T) bool) {
		for len(s) > 0 {
			k := min(n, len(s))
			if !yield(s[:k]) {
				return
			}
			s = s[k:]
		}
	}
}

// ready says why a report cannot be read yet or at all, or nil.
func ready(r cbtypes.Report) error {
	arn := aws.ToString(r.Arn)
	switch r.Status {
	case cbtypes.ReportStatusTypeGenerating:
		return fmt.Errorf("report %s is still generating: %w", arn, evidence.ErrPending)
	case cbtypes.ReportStatusTypeIncomplete, cbtypes.ReportStatusTypeDeleting:
		return fmt.Errorf("report %s is %s", arn, r.Status)
	}
	return nil
}

// tests reads the test cases of TEST reports.
func (c Reader) tests(ctx context.Context, reports []cbtypes.Report) gate.Input[report.Tests] {
	if len(reports) == 0 {
		return gate.Input[report.Tests]{}
	}
	in := gate.Input[report.Tests]{From: arns(reports), Found: true}
	limit := c.limit()
	all := make([]report.Tests, 0, len(reports))
	read := 0
	for _, r := range reports {
		if err := ready(r); err != nil {
			in.Err = err
			return in
		}
		if aws.ToBool(r.Truncated) {
			// The missing cases could be the failing ones.
			in.Err = fmt.Errorf("report %s is truncated: CodeBuild kept only part of its test cases", aws.ToString(r.Arn))
			return in
		}
		tests, n, err := c.cases(ctx, r, limit-read)
		if err != nil {
			in.Err = err
			return in
		}
		read += n
		all = append(all, tests)
	}
	in.Value = report.Merge(all...)
	return in
}

// cases pages through one report's test cases, at most limit of them, and
// groups them into suites by suite name (the report's name when CodeBuild
// gives none), in the order suites first appear.
func (c Reader) cases(ctx context.Context, r cbtypes.Report, limit int) (report.Tests, int, error) {
	arn := aws.ToString(r.Arn)
	pages := codebuild.NewDescribeTestCasesPaginator(c.API, &codebuild.DescribeTestCasesInput{ReportArn: r.Arn},
		func(o *codebuild.DescribeTestCasesPaginatorOptions) {
			o.Limit = 100
			o.StopOnDuplicateToken = true
		})
	var tests report.Tests
	index := map[string]int{}
	n := 0
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return report.Tests{}, 0, fmt.Errorf("describe test cases of %s: %w", arn, err)
		}
		n += len(page.TestCases)
		if n > limit {
			return report.Tests{}, 0, fmt.Errorf("report %s: more than the %d test cases Highway reads per build", arn, c.limit())
		}
		for _, tc := range page.TestCases {
			suite := aws.ToString(tc.TestSuiteName)
			if suite == "" {
				suite = aws.ToString(r.Name)
			}
			i, ok := index[suite]
			if !ok {
				i = len(tests.Suites)
				index[suite] = i
				tests.Suites = append(tests.Suites, report.Suite{Name: suite})
			}
			cs := testCase(tc)
			tests.Suites[i].Cases = append(tests.Suites[i].Cases, cs)
			tests.Suites[i].Duration += cs.Duration
		}
	}
	return tests, n, nil
}

// limit is the bound on test cases per build.
func (c Reader) limit() int {
	if c.MaxTestCases <= 0 {
		return MaxTestCases
	}
	return c.MaxTestCases
}

// testCase converts a CodeBuild test case. A status CodeBuild calls UNKNOWN,
// or one Highway does not know, counts as errored: it fails closed.
func testCase(tc cbtypes.TestCase) report.Case {
	c := report.Case{
		Class:    aws.ToString(tc.Prefix),
		Name:     aws.ToString(tc.Name),
		Duration: time.Duration(max(aws.ToInt64(tc.DurationInNanoSeconds), 0)),
		Message:  report.Shorten(aws.ToString(tc.Message), maxMessage),
	}
	switch status := aws.ToString(tc.Status); status {
	case "SUCCEEDED":
		c.Status = report.Passed
	case "FAILED":
		c.Status = report.Failed
	case "ERROR":
		c.Status = report.Errored
	case "SKIPPED":
		c.Status = report.Skipped
	default:
		c.Status = report.Errored
		c.Message = report.Shorten(fmt.Sprintf("CodeBuild test status %q. %s", status, c.Message), maxMessage)
	}
	return c
}

// coverage sums the line coverage of CODE_COVERAGE reports.
func coverage(reports []cbtypes.Report) gate.Input[report.Coverage] {
	if len(reports) == 0 {
		return gate.Input[report.Coverage]{}
	}
	in := gate.Input[report.Coverage]{From: arns(reports), Found: true}
	sum := report.Coverage{Format: "codebuild"}
	for _, r := range reports {
		if err := ready(r); err != nil {
			in.Err = err
			return in
		}
		s := r.CodeCoverageSummary
		if s == nil || s.LinesCovered == nil || s.LinesMissed == nil {
			in.Err = fmt.Errorf("report %s has no line coverage summary", aws.ToString(r.Arn))
			return in
		}
		covered, missed := int(aws.ToInt32(s.LinesCovered)), int(aws.ToInt32(s.LinesMissed))
		if covered < 0 || missed < 0 {
			in.Err = fmt.Errorf("report %s has negative line counts (%d covered, %d missed)", aws.ToString(r.Arn), covered, missed)
			return in
		}
		sum.Covered += covered
		sum.Total += covered + missed
	}
	in.Value = sum
	return in
}

// arns lists the reports' ARNs for From.
func arns(reports []cbtypes.Report) string {
	s := make([]string, len(reports))
	for i, r := range reports {
		s[i] = aws.ToString(r.Arn)
	}
	return strings.Join(s, ", ")
}
