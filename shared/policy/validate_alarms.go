package policy

import (
	"cmp"
	"fmt"
	"path"
	"text/template"
	"time"
)

var (
	runbookNamePattern = lazyLength(`^[a-z][a-z0-9-]*$`, 1, 63)
	ssmDocumentPattern = lazy(`^(arn:aws[a-z-]*:ssm:[a-z0-9-]+:[0-9]{12}:document/)?[A-Za-z0-9_.-]{3,128}$`)
)

// checkAlarms checks the alarms section: guards within sane bounds, runbooks
// that name an app and environment of the policy, match something, and whose
// actions have a target there.
func checkAlarms(c *checker, p *Policy) {
	a := p.Alarms
	if a == nil {
		return
	}
	if a.MaxActionsPerHour < 0 || a.MaxActionsPerHour > 60 {
		c.errorf("alarms.maxActionsPerHour", "maxActionsPerHour %d must be between 1 and 60", a.MaxActionsPerHour)
	}
	for key, d := range map[string]durationField{
		"alarms.cooldown": {a.Cooldown, 24 * 60}, "alarms.incidentWindow": {a.IncidentWindow, 7 * 24 * 60},
		"alarms.breaker.window": {a.Breaker.Window, 7 * 24 * 60},
	} {
		d.check(c, key)
	}
	if a.Breaker.Failures < 0 || a.Breaker.Failures > 100 {
		c.errorf("alarms.breaker.failures", "failures %d must be between 1 and 100", a.Breaker.Failures)
	}
	seen := map[string]int{}
	for i, rb := range a.Runbooks {
		at := fmt.Sprintf("alarms.runbooks[%d]", i)
		if !runbookNamePattern.MatchString(rb.Name) {
			c.errorf(at+".name", "%q is not a runbook name: lower case letters, digits and dashes", rb.Name)
		} else if first, dup := seen[rb.Name]; dup {
			c.errorf(at+".name", "duplicate runbook %q (first at runbooks[%d])", rb.Name, first)
		} else {
			seen[rb.Name] = i
		}
		durationField{rb.Cooldown, 24 * 60}.check(c, at+".cooldown")
		env := runbookEnv(c, p, at, rb)
		checkAlarmMatch(c, at+".match", rb.Match)
		for j, act := range rb.Actions {
			checkAction(c, fmt.Sprintf("%s.actions[%d]", at, j), act, env)
		}
	}
}

// durationField is a duration that must be between 0 and max minutes.
type durationField struct {
	d          time.Duration
	maxMinutes float64
}

func (f durationField) check(c *checker, at string) {
	if m := f.d.Minutes(); m < 0 || m > f.maxMinutes {
		c.errorf(at, "%v must be between 0 and %gh", f.d, f.maxMinutes/60)
	}
}

// runbookEnv is the environment a runbook names, or nil after an error.
func runbookEnv(c *checker, p *Policy, at string, rb Runbook) *Environment {
	app, ok := p.App(rb.App)
	if !ok {
		c.errorf(at+".app", "no app %q in the policy", rb.App)
		return nil
	}
	env, ok := app.Environment(rb.Env)
	if !ok {
		c.errorf(at+".env", "app %q has no environment %q", rb.App, rb.Env)
		return nil
	}
	return env
}

func checkAlarmMatch(c *checker, at string, m AlarmMatch) {
	if len(m.Names) == 0 && len(m.Tags) == 0 && m.Metric == nil {
		c.errorf(at, "match alarms by names, tags or metric: a runbook for every alarm is rarely meant")
	}
	for i, n := range m.Names {
		if _, err := path.Match(n, ""); err != nil || n == "" {
			c.errorf(fmt.Sprintf("%s.names[%d]", at, i), "%q is not an alarm name pattern (path.Match syntax)", n)
		}
	}
	if m.Metric != nil {
		for k, v := range m.Metric.Dimensions {
			if _, err := path.Match(v, ""); err != nil {
				c.errorf(at+".metric.dimensions."+k, "%q is not a dimension value pattern (path.Match syntax)", v)
			}
		}
	}
}

// checkAction checks that exactly one action is set and that it has a target
// in env (nil when the runbook's environment is unknown).
func checkAction(c *checker, at string, a Action, env *Environment) {
	var deploy Deploy
	if env != nil && env.Deploy != nil {
		deploy = *env.Deploy
	}
	set := 0
	if a.Rollback != nil {
		set++
		if env != nil && env.Deploy == nil {
			c.errorf(at+".rollback", "environment %q has no deploy: Highway cannot roll it back", env.Name)
		}
	}
	if s := a.ECSRedeploy; s != nil {
		set++
		checkECSTarget(c, at+".ecs-redeploy", s.Cluster, s.Service, deploy.ECS, env)
	}
	if s := a.ECSScale; s != nil {
		set++
		checkECSTarget(c, at+".ecs-scale", s.Cluster, s.Service, deploy.ECS, env)
		if s.Step == 0 {
			c.errorf(at+".ecs-scale.step", "step must add or remove tasks")
		}
		if s.Min < 0 || s.Max < 1 || s.Min > s.Max || s.Max > 1000 {
			c.errorf(at+".ecs-scale.max", "bounds min %d, max %d: want 0 ≤ min ≤ max, 1 ≤ max ≤ 1000", s.Min, s.Max)
		}
	}
	for key, s := range map[string]*AppRunnerService{"apprunner-redeploy": a.AppRunnerRedeploy, "apprunner-pause": a.AppRunnerPause, "apprunner-resume": a.AppRunnerResume} {
		if s == nil {
			continue
		}
		set++
		service := s.Service
		if d := deploy.AppRunner; d != nil {
			service = cmp.Or(service, d.Service)
		}
		if env != nil && service == "" {
			c.errorf(at+"."+key, "name the service: environment %q is not deployed to App Runner", env.Name)
		} else if service != "" {
			checkAppRunnerService(c, at+"."+key+".service", service, env)
		}
	}
	if s := a.EKSRolloutRestart; s != nil {
		set++
		checkEKSWorkload(c, at+".eks-rollout-restart", EKSWorkload(*s), deploy.EKSTarget(), env)
	}
	if s := a.EKSScale; s != nil {
		set++
		checkEKSWorkload(c, at+".eks-scale", EKSWorkload{Cluster: s.Cluster, Namespace: s.Namespace, Deployment: s.Deployment}, deploy.EKSTarget(), env)
		if s.Step == 0 {
			c.errorf(at+".eks-scale.step", "step must add or remove replicas")
		}
		if s.Min < 0 || s.Max < 1 || s.Min > s.Max || s.Max > 1000 {
			c.errorf(at+".eks-scale.max", "bounds min %d, max %d: want 0 ≤ min ≤ max, 1 ≤ max ≤ 1000", s.Min, s.Max)
		}
	}
	if s := a.LambdaAliasRollback; s != nil {
		set++
		fn, alias := s.Function, s.Alias
		if d := deploy.Lambda; d != nil {
			fn, alias = cmp.Or(fn, d.Function), cmp.Or(alias, d.Alias)
		}
		switch {
		case env != nil && (fn == "" || alias == ""):
			c.errorf(at+".lambda-alias-rollback", "name the function and alias: environment %q is not deployed through a Lambda alias", env.Name)
		case fn != "" && !lambdaNamePattern.MatchString(fn):
			c.errorf(at+".lambda-alias-rollback.function", "%q is not a Lambda function name", fn)
		case alias != "" && !aliasPattern.MatchString(alias):
			c.errorf(at+".lambda-alias-rollback.alias", "%q is not a Lambda alias name", alias)
		}
	}
	if s := a.SSMAutomation; s != nil {
		set++
		if !ssmDocumentPattern.MatchString(s.Document) {
			c.errorf(at+".ssm-automation.document", "%q is not an SSM document name or ARN", s.Document)
		}
		for k, vs := range s.Parameters {
			for _, v := range vs {
				if _, err := template.New(k).Option("missingkey=error").Parse(v); err != nil {
					c.errorf(at+".ssm-automation.parameters."+k, "%q is not a template: %v", v, err)
				}
			}
		}
	}
	if a.Notify != nil {
		set++
	}
	if set != 1 {
		c.errorf(at, "an action is exactly one of rollback, ecs-redeploy, ecs-scale, apprunner-redeploy, apprunner-pause, apprunner-resume, eks-rollout-restart, eks-scale, lambda-alias-rollback, ssm-automation, notify (found %d)", set)
	}
}

// checkECSTarget checks an ECS action's service: named, or the environment's
// ecs deploy target.
func checkECSTarget(c *checker, at, cluster, service string, d *ECSDeploy, env *Environment) {
	if d != nil {
		cluster, service = cmp.Or(cluster, d.Cluster), cmp.Or(service, d.Service)
	}
	if env != nil && (cluster == "" || service == "") {
		c.errorf(at, "name the cluster and service: environment %q is not deployed to ECS", env.Name)
		return
	}
	for key, v := range map[string]string{"cluster": cluster, "service": service} {
		if v != "" && !ecsNamePattern.MatchString(v) {
			c.errorf(at+"."+key, "%q is not an ECS %s name", v, key)
		}
	}
}

// checkEKSWorkload checks an EKS action's Deployment: named, or the
// environment's eks deploy target or gitops watch.
func checkEKSWorkload(c *checker, at string, w EKSWorkload, d *EKSDeploy, env *Environment) {
	if d != nil {
		w.Cluster, w.Namespace, w.Deployment = cmp.Or(w.Cluster, d.Cluster), cmp.Or(w.Namespace, d.Namespace), cmp.Or(w.Deployment, d.Deployment)
	}
	if env != nil && (w.Cluster == "" || w.Namespace == "" || w.Deployment == "") {
		c.errorf(at, "name the cluster, namespace and deployment: environment %q is not deployed to EKS", env.Name)
		return
	}
	checkKubeNames(c, at, false, w.Cluster, w.Namespace, w.Deployment, "")
}
