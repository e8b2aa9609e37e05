package drift

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"

	"github.com/highwayhq/highway/shared/policy"
)

// Select returns the stacks sel selects among those cf describes: a name
// starting with one of the prefixes (any name, when none) and every tag of
// sel. Deleted stacks and stacks in an operation (*_IN_PROGRESS) are left out:
// their drift cannot be detected. Account and region come from the stack ARN.
func Select(ctx context.Context, cf StackLister, sel policy.StackSelector) ([]Stack, error) {
	var out []Stack
	in := &cloudformation.DescribeStacksInput{}
	for {
		page, err := cf.DescribeStacks(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("describe stacks: %w", err)
		}
		for _, s := range page.Stacks {
			if !Selects(sel, s) {
				continue
			}
			id := aws.ToString(s.StackId)
			account, region, _, err := parseStackARN(id)
			if err != nil {
				return nil, err
			}
			out = append(out, Stack{Account: account, Region: region, Name: aws.ToString(s.StackName), ID: id})
		}
		if aws.ToString(page.NextToken) == "" {
			return out, nil
		}
		in = &cloudformation.DescribeStacksInput{NextToken: page.NextToken}
	}
}

// Selects reports whether sel selects stack s and s is in a state whose drift
// can be detected.
func Selects(sel policy.StackSelector, s cftypes.Stack) bool {
	status := string(s.StackStatus)
	if s.StackStatus == cftypes.StackStatusDeleteComplete || strings.HasSuffix(status, "_IN_PROGRESS") {
		return false
	}
	if !namedBy(sel, aws.ToString(s.StackName)) {
		return false
	}
	for k, v := range sel.Tags {
		if !hasTag(s.Tags, k, v) {
			return false
		}
	}
	return true
}

// namedBy reports whether name starts with one of sel's prefixes, or sel has
// none.
func namedBy(sel policy.StackSelector, name string) bool {
	if len(sel.Prefixes) == 0 {
		return true
	}
	for _, p := range sel.Prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

func hasTag(tags []cftypes.Tag, key, value string) bool {
	for _, t := range tags {
		if aws.ToString(t.Key) == key && aws.ToString(t.Value) == value {
			return true
		}
	}
	return false
}

// pacedStacks is a StackLister whose calls keep to an account's limits.
type pacedStacks struct {
	api     StackLister
	limits  *Limits
	account string
}

func (p pacedStacks) DescribeStacks(ctx context.Context, in *cloudformation.DescribeStacksInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error) {
	var out *cloudformation.DescribeStacksOutput
	err := p.limits.Do(ctx, p.account, func(ctx context.Context, opt func(*cloudformation.Options)) error {
		var err error
		out, err = p.api.DescribeStacks(ctx, in, append(optFns, opt)...)
		return err
	})
	return out, err
}
