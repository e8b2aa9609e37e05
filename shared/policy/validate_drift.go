package policy

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// Severities are the severities a drift rule may give, highest first.
var Severities = []string{"critical", "high", "medium", "low"}

var (
	schedulePattern    = lazy(`^(rate\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\)|cron\([^()]+\))$`)
	stackPrefixPattern = lazyLength(`^[A-Za-z][A-Za-z0-9-]*$`, 1, 128)
	// terraformTypePattern is a Terraform resource type pattern: a
	// provider's lower-case name, then an underscore or a wildcard.
	terraformTypePattern = lazy(`^[a-z][a-z0-9]*[_*][a-z0-9_*?]*$`)
	// attributePattern is a Terraform attribute path as Highway reports
	// drift: names joined by dots, list indexes and quoted map keys.
	attributePattern = lazy(`^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*|\[[0-9]+\]|\["[^"]*"\])*$`)
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
		checkPropertyPath(c, p+".property", r.Type, r.Property)
		if !slices.Contains(Severities, r.Severity) {
			c.errorf(p+".severity", "severity %q must be one of %s", r.Severity, strings.Join(Severities, ", "))
		}
	}
	for i, s := range d.Suppressions {
		p := fmt.Sprintf("drift.suppressions[%d]", i)
		checkResourceType(c, p+".type", s.Type)
		checkPropertyPath(c, p+".property", s.Type, s.Property)
		if strings.TrimSpace(s.Reason) == "" {
			c.errorf(p+".reason", "a suppression needs a reason")
		}
	}
	checkTerraform(c, p)
}

// checkTerraform checks the Terraform workspaces: names that key reports,
// CodeBuild project and S3 bucket names AWS accepts, in an account and
// region Highway reaches (where its drift access role is, and whose events
// reach the hub), one workspace per project.
func checkTerraform(c *checker, p *Policy) {
	reached := map[Spoke]bool{{Account: p.Hub.Account, Region: p.Hub.Region}: true}
	for _, s := range p.Spokes() {
		reached[s] = true
	}
	names, projects := map[string]string{}, map[string]string{}
	for i, w := range p.Drift.Terraform {
		at := fmt.Sprintf("drift.terraform[%d]", i)
		if checkName(c, at+".name", "workspace", w.Name) {
			if prev, ok := names[w.Name]; ok {
				c.errorf(at+".name", "duplicate workspace %q (first at line %d)", w.Name, c.line(prev))
			} else {
				names[w.Name] = at + ".name"
			}
		}
		if !projectPattern.MatchString(w.Project) {
			c.errorf(at+".project", "project %q is not %s", w.Project, projectNames.explain)
		}
		checkAccount(c, at+".account", w.Account)
		checkRegion(c, at+".region", w.Region)
		if accountPattern.MatchString(w.Account) && regionPattern.MatchString(w.Region) && !reached[Spoke{Account: w.Account, Region: w.Region}] {
			c.errorf(at+".account", "account %s in %s is neither the hub's nor an app's or environment's: Highway has no drift access role there and its build events do not reach the hub", w.Account, w.Region)
		}
		key := w.Account + "/" + w.Region + "/" + w.Project
		if prev, ok := projects[key]; ok {
			c.errorf(at+".project", "project %q already plans another workspace (line %d): give each workspace a project of its own, so that its builds name it", w.Project, c.line(prev))
		} else {
			projects[key] = at + ".project"
		}
		if !bucketPattern.MatchString(w.ArtifactBucket) || strings.Contains(w.ArtifactBucket, "..") {
			c.errorf(at+".artifactBucket", "bucket %q is not %s", w.ArtifactBucket, bucketNames.explain)
		}
	}
}

// cloudFormationType reports whether t names CloudFormation resources only.
func cloudFormationType(t string) bool {
	return strings.HasPrefix(t, "AWS::") || strings.HasPrefix(t, "Custom::")
}

func checkResourceType(c *checker, p, t string) {
	if _, err := path.Match(t, ""); err != nil || !cloudFormationType(t) && !terraformTypePattern.MatchString(t) && t != "*" {
		c.errorf(p, "%q is not a CloudFormation resource type pattern like AWS::EC2::SecurityGroup or AWS::IAM::*, nor a Terraform one like aws_security_group or aws_iam_*", t)
	}
}

// checkPropertyPath checks a rule's property as the drift of its type is
// reported: a CloudFormation property path (/SecurityGroupIngress), a
// Terraform attribute path (ingress, tags.Owner), either for type "*".
func checkPropertyPath(c *checker, p, typ, prop string) {
	switch {
	case prop == "":
	case cloudFormationType(typ) && !strings.HasPrefix(prop, "/"):
		c.errorf(p, "property %q must be a path like /SecurityGroupIngress, as CloudFormation reports differences", prop)
	case terraformTypePattern.MatchString(typ) && !attributePattern.MatchString(prop):
		c.errorf(p, "attribute %q must be a Terraform attribute path like ingress or tags.Owner, as Highway reports the drift of Terraform resources", prop)
	case typ == "*" && !strings.HasPrefix(prop, "/") && !attributePattern.MatchString(prop):
		c.errorf(p, "property %q must be a CloudFormation path like /SecurityGroupIngress or a Terraform attribute path like ingress", prop)
	}
}
