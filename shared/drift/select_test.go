package drift

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"

	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/policy"
)

func TestSelectsByNameTagsAndStatus(t *testing.T) {
	sel := policy.StackSelector{Prefixes: []string{"checkout-", "payments-"}, Tags: map[string]string{"highway:managed": "true"}}
	tagged := []cftypes.Tag{{Key: aws.String("highway:managed"), Value: aws.String("true")}}
	tests := []struct {
		name string
		give cftypes.Stack
		sel  policy.StackSelector
		want bool
	}{
		{"prefix and tag", cftypes.Stack{StackName: aws.String("checkout-prod"), StackStatus: "UPDATE_COMPLETE", Tags: tagged}, sel, true},
		{"second prefix", cftypes.Stack{StackName: aws.String("payments-db"), StackStatus: "CREATE_COMPLETE", Tags: tagged}, sel, true},
		{"other name", cftypes.Stack{StackName: aws.String("search-prod"), StackStatus: "UPDATE_COMPLETE", Tags: tagged}, sel, false},
		{"tag missing", cftypes.Stack{StackName: aws.String("checkout-prod"), StackStatus: "UPDATE_COMPLETE"}, sel, false},
		{"tag value differs", cftypes.Stack{StackName: aws.String("checkout-prod"), StackStatus: "UPDATE_COMPLETE",
			Tags: []cftypes.Tag{{Key: aws.String("highway:managed"), Value: aws.String("false")}}}, sel, false},
		{"deleted", cftypes.Stack{StackName: aws.String("checkout-old"), StackStatus: "DELETE_COMPLETE", Tags: tagged}, sel, false},
		{"updating", cftypes.Stack{StackName: aws.String("checkout-prod"), StackStatus: "UPDATE_IN_PROGRESS", Tags: tagged}, sel, false},
		{"cleaning up", cftypes.Stack{StackName: aws.String("checkout-prod"), StackStatus: "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", Tags: tagged}, sel, false},
		{"rolled back is checked", cftypes.Stack{StackName: aws.String("checkout-prod"), StackStatus: "UPDATE_ROLLBACK_COMPLETE", Tags: tagged}, sel, true},
		{"no prefixes: any name", cftypes.Stack{StackName: aws.String("search-prod"), StackStatus: "UPDATE_COMPLETE", Tags: tagged},
			policy.StackSelector{Tags: sel.Tags}, true},
		{"no tags: any tags", cftypes.Stack{StackName: aws.String("checkout-prod"), StackStatus: "UPDATE_COMPLETE"},
			policy.StackSelector{Prefixes: sel.Prefixes}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Selects(tt.sel, tt.give); got != tt.want {
				t.Errorf("Selects(%s %s) = %v, want %v", aws.ToString(tt.give.StackName), tt.give.StackStatus, got, tt.want)
			}
		})
	}
}

func TestSelectReadsEveryPage(t *testing.T) {
	srv := awsfake.New(t)
	stacks := []fakeStack{
		managed(prodAccount, "checkout-prod-network"),
		{account: prodAccount, name: "checkout-prod-scratch", status: "UPDATE_COMPLETE", tags: map[string]string{"app": "checkout"}},
		managed(prodAccount, "search-prod"),
		{account: prodAccount, name: "checkout-prod-db", status: "DELETE_COMPLETE", tags: map[string]string{"highway:managed": "true"}},
		managed(prodAccount, "checkout-prod-service"),
		{account: prodAccount, name: "checkout-prod-cache", status: "CREATE_IN_PROGRESS", tags: map[string]string{"highway:managed": "true"}},
		managed(prodAccount, "checkout-prod-edge"),
	}
	onDescribeStacks(srv, stacks, 3)
	cf := cloudformation.NewFromConfig(srv.Config(), func(o *cloudformation.Options) { o.Region = testRegion })

	got, err := Select(context.Background(), cf, policy.StackSelector{
		Prefixes: []string{"checkout-"}, Tags: map[string]string{"highway:managed": "true"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []Stack{
		{Account: prodAccount, Region: testRegion, Name: "checkout-prod-network", ID: stacks[0].arn()},
		{Account: prodAccount, Region: testRegion, Name: "checkout-prod-service", ID: stacks[4].arn()},
		{Account: prodAccount, Region: testRegion, Name: "checkout-prod-edge", ID: stacks[6].arn()},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Select() = %+v, want %+v", got, want)
	}
	calls := srv.Invocations("DescribeStacks")
	if len(calls) != 3 {
		t.Fatalf("DescribeStacks called %d times, want 3 (three pages)", len(calls))
	}
	for i, c := range calls {
		wantToken := ""
		if i > 0 {
			wantToken = "page-" + string(rune('0'+i))
		}
		if got := c.Form.Get("NextToken"); got != wantToken {
			t.Errorf("call %d NextToken = %q, want %q", i+1, got, wantToken)
		}
	}
}

func TestSelectFailsOnError(t *testing.T) {
	srv := awsfake.New(t)
	srv.On("DescribeStacks", awsfake.APIError(403, "AccessDenied", "not authorized to perform: cloudformation:DescribeStacks"))
	cf := cloudformation.NewFromConfig(srv.Config())
	if got, err := Select(context.Background(), cf, policy.StackSelector{}); err == nil {
		t.Errorf("Select() = %v, nil; want the access error", got)
	}
}
