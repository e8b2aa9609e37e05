package policy

import (
	"fmt"
	"net/mail"
	"time"
)

// Bounds of the approval workflow's timings: Step Functions waits at most a
// year for a task token.
const (
	DefaultApprovalTimeout = 24 * time.Hour
	maxApprovalTimeout     = 365 * 24 * time.Hour
)

var (
	ssmParameterPattern = lazy(`^/?[A-Za-z0-9_.\-/]+$`)
	lambdaNamePattern   = lazyLength(`^[A-Za-z0-9_-]+$`, 1, 64)
	aliasPattern        = lazyLength(`^[A-Za-z][A-Za-z0-9_-]*$`, 1, 128)
	ecsNamePattern      = lazyLength(`^[A-Za-z0-9][A-Za-z0-9_-]*$`, 1, 255)
)

// checkPromotion checks each environment's approval, soak and deploy settings.
func checkPromotion(c *checker, p *Policy) {
	for i, app := range p.Apps {
		for j, env := range app.Environments {
			path := fmt.Sprintf("apps[%d].environments[%d]", i, j)
			checkDuration(c, path+".soak", env.Soak)
			if env.Approval != nil {
				checkApproval(c, path+".approval", env.Approval)
			}
			if env.Deploy != nil {
				checkDeploy(c, path+".deploy", env.Deploy)
			}
		}
	}
}

func checkApproval(c *checker, path string, a *Approval) {
	if len(a.Approvers) == 0 {
		c.errorf(path+".approvers", "an approval needs at least one approver")
	}
	seen := map[string]bool{}
	for i, who := range a.Approvers {
		p := fmt.Sprintf("%s.approvers[%d]", path, i)
		addr, err := mail.ParseAddress(who)
		switch {
		case err != nil || addr.Address != who:
			c.errorf(p, "approver %q is not a bare e-mail address", who)
		case seen[who]:
			c.errorf(p, "duplicate approver %q", who)
		}
		seen[who] = true
	}
	if a.Quorum < 0 || a.Quorum > len(a.Approvers) {
		c.errorf(path+".quorum", "quorum %d must be between 1 and the %d approvers", a.Quorum, len(a.Approvers))
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"timeout", a.Timeout}, {"heartbeat", a.Heartbeat}} {
		if d.v != 0 && (d.v < time.Minute || d.v > maxApprovalTimeout) {
			c.errorf(path+"."+d.key, "%s %s must be between 1m and 8760h (Step Functions waits at most a year)", d.key, d.v)
		}
	}
	timeout := a.Timeout
	if timeout == 0 {
		timeout = DefaultApprovalTimeout
	}
	if a.Heartbeat > timeout {
		c.errorf(path+".heartbeat", "heartbeat %s is longer than the timeout %s", a.Heartbeat, timeout)
	}
}

func checkDeploy(c *checker, path string, d *Deploy) {
	set := 0
	if s := d.SSM; s != nil {
		set++
		if !ssmParameterPattern.MatchString(s.Parameter) || len(s.Parameter) > 2048 {
			c.errorf(path+".ssm.parameter", "%q is not an SSM parameter name", s.Parameter)
		}
	}
	if s := d.Pipeline; s != nil {
		set++
		checkNames(c, path+".pipeline.name", []string{s.Name}, pipelineNames)
		if s.Variable != "" && !aliasPattern.MatchString(s.Variable) {
			c.errorf(path+".pipeline.variable", "%q is not a pipeline variable name", s.Variable)
		}
	}
	if s := d.Lambda; s != nil {
		set++
		if !lambdaNamePattern.MatchString(s.Function) {
			c.errorf(path+".lambda.function", "%q is not a Lambda function name", s.Function)
		}
		if !aliasPattern.MatchString(s.Alias) {
			c.errorf(path+".lambda.alias", "%q is not a Lambda alias name", s.Alias)
		}
	}
	if s := d.ECS; s != nil {
		set++
		for key, v := range map[string]string{"cluster": s.Cluster, "service": s.Service, "container": s.Container} {
			if !ecsNamePattern.MatchString(v) {
				c.errorf(path+".ecs."+key, "%q is not an ECS %s name", v, key)
			}
		}
	}
	if set != 1 {
		c.errorf(path, "deploy must say exactly one of ssm, pipeline, lambda or ecs (it says %d)", set)
	}
}
