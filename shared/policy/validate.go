package policy

import (
	"fmt"
	"net/mail"
	"slices"
	"strconv"
	"strings"
)

// Defaults filled in after validation when the file leaves the key out.
const (
	// DefaultHubName prefixes Highway's named resources.
	DefaultHubName = "highway"
	// DefaultLogRetentionDays keeps function logs for a month.
	DefaultLogRetentionDays = 30
	// DefaultAppTag is the tag key naming a resource's app.
	DefaultAppTag = "highway:app"
)

// Version is the only schema version this Highway reads.
const Version = 1

// LogRetentionDays are the retention periods CloudWatch Logs accepts; any other
// value would fail the deployment, so the policy rejects it first.
var LogRetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545,
	731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// checks are the rules a policy must meet once its shape is right, run in order
// on the decoded policy. A new section adds its struct field and a check here;
// the parser stays as it is.
var checks = []func(*checker, *Policy){
	checkVersion,
	checkHub,
	checkApps,
	checkGates,
	checkPromotion,
	checkDrift,
	checkAlarms,
}

var (
	accountPattern = lazy(`^[0-9]{12}$`)
	regionPattern  = lazy(`^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}$`)
	hubNamePattern = lazyLength(`^[A-Za-z][A-Za-z0-9-]*$`, 1, 32)
	// tagKeyPattern is what IAM accepts as a tag key (and so as the key of a
	// session tag and of aws:ResourceTag/<key>).
	tagKeyPattern     = lazyLength(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$`, 1, 128)
	namePattern       = lazyLength(`^[A-Za-z0-9][A-Za-z0-9_-]*$`, 1, 64)
	repositoryPattern = lazyLength(`^[A-Za-z0-9_.-]+$`, 1, 100)
)

func checkVersion(c *checker, p *Policy) {
	if c.has("version") && p.Version != Version {
		c.errorf("version", "unknown version %d; this Highway reads version %d", p.Version, Version)
	}
}

func checkHub(c *checker, p *Policy) {
	h := p.Hub
	checkAccount(c, "hub.account", h.Account)
	checkRegion(c, "hub.region", h.Region)
	if c.has("hub.name") && !hubNamePattern.MatchString(h.Name) {
		c.errorf("hub.name", "name %q must start with a letter and hold only letters, digits and '-', at most 32 (it prefixes resource names)", h.Name)
	}
	if c.has("hub.logRetentionDays") && !slices.Contains(LogRetentionDays, h.LogRetentionDays) {
		c.errorf("hub.logRetentionDays", "%d is not a CloudWatch Logs retention period; use one of %s",
			h.LogRetentionDays, joinInts(LogRetentionDays))
	}
	if c.has("hub.appTag") && (!tagKeyPattern.MatchString(h.AppTag) || strings.HasPrefix(strings.ToLower(h.AppTag), "aws:")) {
		c.errorf("hub.appTag", "%q is not a tag key IAM accepts: 1 to 128 letters, digits, spaces and _ . : / = + - @, not starting with aws:", h.AppTag)
	}
	first := map[string]string{}
	for i, email := range h.NotifyEmails {
		path := fmt.Sprintf("hub.notifyEmails[%d]", i)
		if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
			c.errorf(path, "%q is not an email address (write only the address, like ops@example.com)", email)
			continue
		}
		if prev, ok := first[email]; ok {
			c.errorf(path, "duplicate email %q (first at line %d)", email, c.line(prev))
			continue
		}
		first[email] = path
	}
}

func checkApps(c *checker, p *Policy) {
	if len(p.Apps) == 0 {
		c.errorf("apps", "no apps; list at least one")
		return
	}
	checkGitHubRepositories(c, p)
	firstApp := map[string]string{}
	for i, app := range p.Apps {
		path := fmt.Sprintf("apps[%d]", i)
		if checkName(c, path+".name", "app", app.Name) {
			if prev, ok := firstApp[app.Name]; ok {
				c.errorf(path+".name", "duplicate app %q (first at line %d)", app.Name, c.line(prev))
			} else {
				firstApp[app.Name] = path + ".name"
			}
		}
		checkSource(c, path, app)
		if len(app.Environments) == 0 {
			c.errorf(path+".environments", "app %q has no environments; list at least one", app.Name)
		}
		firstEnv := map[string]string{}
		for j, env := range app.Environments {
			envPath := fmt.Sprintf("%s.environments[%d]", path, j)
			if checkName(c, envPath+".name", "environment", env.Name) {
				if prev, ok := firstEnv[env.Name]; ok {
					c.errorf(envPath+".name", "duplicate environment %q (first at line %d)", env.Name, c.line(prev))
				} else {
					firstEnv[env.Name] = envPath + ".name"
				}
			}
			checkAccount(c, envPath+".account", env.Account)
			checkRegion(c, envPath+".region", env.Region)
		}
	}
}

// checkName reports an app or environment name that cannot serve as a ledger key,
// event field and metric dimension; it returns whether the name is good.
func checkName(c *checker, path, what, name string) bool {
	if name == "" {
		c.errorf(path, "%s name must not be empty", what)
		return false
	}
	if !namePattern.MatchString(name) {
		c.errorf(path, "%s name %q may hold only letters, digits, '-' and '_', at most 64, starting with a letter or digit", what, name)
		return false
	}
	return true
}

func checkAccount(c *checker, path, account string) {
	if !accountPattern.MatchString(account) {
		c.errorf(path, "account id %q must be exactly 12 digits", account)
	}
}

func checkRegion(c *checker, path, region string) {
	if !regionPattern.MatchString(region) {
		c.errorf(path, "region %q is not an AWS region name like eu-west-1", region)
	}
}

// applyDefaults fills in the values the file may leave out.
func (p *Policy) applyDefaults() {
	if p.Hub.Name == "" {
		p.Hub.Name = DefaultHubName
	}
	if p.Hub.LogRetentionDays == 0 {
		p.Hub.LogRetentionDays = DefaultLogRetentionDays
	}
	if p.Hub.AppTag == "" {
		p.Hub.AppTag = DefaultAppTag
	}
	for i := range p.Apps {
		a := &p.Apps[i]
		if a.Account == "" {
			a.Account = p.Hub.Account
		}
		if a.Region == "" {
			a.Region = p.Hub.Region
		}
	}
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}
