package policy

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
)

// Severities are the severities a drift rule may give, highest first.
var Severities = []string{"critical", "high", "medium", "low"}

var (
	schedulePattern    = regexp.MustCompile(`^(rate\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\)|cron\([^()]+\))$`)
	stackPrefixPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,127}$`)
)

// checkDrift checks the drift section: a schedule EventBridge accepts, stack
// selectors CloudFormation names can match, sane limits, and rules whose types
// and severities make sense.
func checkDrift(c *checker, p *Policy) {
	d := p.Drift
	if d == nil {
		return
	}
	if !schedulePattern.MatchString(d.Schedule) {
		c.errorf("drift.schedule", "%q is not an EventBridge schedule expression like rate(6 hours) or cron(0 6 * * ? *)", d.Schedule)
	}
	for i, prefix := range d.Stacks.Prefixes {
		if !stackPrefixPattern.MatchString(prefix) {
			c.errorf(fmt.Sprintf("drift.stacks.prefixes[%d]", i), "%q is not the start of a CloudFormation stack name", prefix)
		}
	}
	if len(d.Stacks.Prefixes) == 0 && len(d.Stacks.Tags) == 0 {
		c.errorf("drift.stacks", "select stacks by prefixes or tags: checking every stack of every account is rarely meant")
	}
	if d.Concurrency < 0 || d.Concurrency > 20 {
		c.errorf("drift.concurrency", "concurrency %d must be between 1 and 20", d.Concurrency)
	}
	if d.RatePerSecond < 0 || d.RatePerSecond > 20 {
		c.errorf("drift.ratePerSecond", "ratePerSecond %g must be between 0.1 and 20: CloudFormation throttles beyond", d.RatePerSecond)
	}
	for i, r := range d.Severities {
		p := fmt.Sprintf("drift.severities[%d]", i)
		checkResourceType(c, p+".type", r.Type)
		checkPropertyPath(c, p+".property", r.Property)
		if !slices.Contains(Severities, r.Severity) {
			c.errorf(p+".severity", "severity %q must be one of %s", r.Severity, strings.Join(Severities, ", "))
		}
	}
	for i, s := range d.Suppressions {
		p := fmt.Sprintf("drift.suppressions[%d]", i)
		checkResourceType(c, p+".type", s.Type)
		checkPropertyPath(c, p+".property", s.Property)
		if strings.TrimSpace(s.Reason) == "" {
			c.errorf(p+".reason", "a suppression needs a reason")
		}
	}
}

func checkResourceType(c *checker, p, t string) {
	if _, err := path.Match(t, ""); err != nil || !strings.HasPrefix(t, "AWS::") && !strings.HasPrefix(t, "Custom::") && t != "*" {
		c.errorf(p, "%q is not a CloudFormation resource type pattern like AWS::EC2::SecurityGroup or AWS::IAM::*", t)
	}
}

func checkPropertyPath(c *checker, p, prop string) {
	if prop != "" && !strings.HasPrefix(prop, "/") {
		c.errorf(p, "property %q must be a path like /SecurityGroupIngress, as CloudFormation reports differences", prop)
	}
}
