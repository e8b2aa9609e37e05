package policy

import (
	"fmt"
	"path"
	"strings"
	"time"
)

// CheckNames are the gate's checks, in the order a decision lists them; a
// waiver names one of them.
var CheckNames = []string{"compile", "tests", "slowTests", "lint", "security", "coverage"}

// Limits of the gate's settings.
const (
	// MinRegressionBuilds is the smallest regression window: a median of fewer
	// builds says little.
	MinRegressionBuilds = 3
	// MaxRegressionBuilds bounds the window, and with it the baseline item.
	MaxRegressionBuilds = 50
	// MinWaiverCommit is the shortest commit prefix a waiver may name, so that
	// it cannot match unrelated commits.
	MinWaiverCommit = 7
)

var (
	pipelinePattern = lazyLength(`^[A-Za-z0-9.@_-]+$`, 1, 100)
	projectPattern  = lazyLength(`^[A-Za-z0-9][A-Za-z0-9_-]+$`, 2, 255)
	commitPattern   = lazyLength(`^[0-9a-fA-F]+$`, 7, 40)
	// bucketPattern is S3's general-purpose bucket naming rule (no dots next to
	// each other is checked apart); the names go into IAM ARNs.
	bucketPattern = lazyLength(`^[a-z0-9][a-z0-9.-]*[a-z0-9]$`, 3, 63)
	// imagePattern is ECR's repository name rule.
	imagePattern = lazy(`^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$`)
)

// nameRule is what one kind of AWS resource name must look like.
type nameRule struct {
	what    string // "pipeline", "project", ...
	pattern *pattern
	explain string // the rule in words, for the error
}

var (
	pipelineNames   = nameRule{"pipeline", pipelinePattern, "a CodePipeline name (letters, digits, '.', '@', '_' and '-', at most 100)"}
	projectNames    = nameRule{"project", projectPattern, "a CodeBuild project name (letters, digits, '_' and '-', 2 to 255, starting with a letter or digit)"}
	bucketNames     = nameRule{"bucket", bucketPattern, "an S3 bucket name (3 to 63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit)"}
	repositoryNames = nameRule{"repository", imagePattern, "an ECR repository name (lowercase letters and digits, separated by '.', '_', '-' or '/', at most 256)"}
)

// checkNames reports empty, malformed and repeated names of one kind.
func checkNames(c *checker, path string, names []string, r nameRule) {
	first := map[string]string{}
	for i, name := range names {
		p := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case name == "":
			c.errorf(p, "%s name must not be empty", r.what)
		case !r.pattern.MatchString(name) || len(name) > 256 || strings.Contains(name, ".."):
			c.errorf(p, "%s %q is not %s", r.what, name, r.explain)
		default:
			if prev, ok := first[name]; ok {
				c.errorf(p, "duplicate %s %q (first at line %d)", r.what, name, c.line(prev))
				continue
			}
			first[name] = p
		}
	}
}

// checkGates checks each app's pipelines and gate section.
func checkGates(c *checker, p *Policy) {
	for i, app := range p.Apps {
		path := fmt.Sprintf("apps[%d]", i)
		checkNames(c, path+".pipelines", app.Pipelines, pipelineNames)
		if app.Gate != nil {
			checkGate(c, path+".gate", app.Gate)
		}
	}
}

// checkGate checks one app's gate section.
func checkGate(c *checker, path string, g *Gate) {
	if len(g.Projects) == 0 {
		c.errorf(path+".projects", "a gate needs at least one CodeBuild project")
	}
	checkNames(c, path+".projects", g.Projects, projectNames)
	checkNames(c, path+".artifactBuckets", g.ArtifactBuckets, bucketNames)
	checkNames(c, path+".imageRepositories", g.ImageRepositories, repositoryNames)
	checkGlobs(c, path+".reports.junit", g.Reports.JUnit)
	checkGlobs(c, path+".reports.sarif", g.Reports.SARIF)
	checkGlobs(c, path+".reports.coverage", g.Reports.Coverage)
	checkChecks(c, path+".checks", &g.Checks)
	for i, w := range g.Waivers {
		checkWaiver(c, fmt.Sprintf("%s.waivers[%d]", path, i), w, &g.Checks)
	}
}

// checkGlobs reports patterns that path.Match cannot use.
func checkGlobs(c *checker, path string, globs []string) {
	for i, g := range globs {
		p := fmt.Sprintf("%s[%d]", path, i)
		switch _, err := pathMatch(g); {
		case g == "":
			c.errorf(p, "pattern must not be empty")
		case err != nil:
			c.errorf(p, "pattern %q is not a valid glob (path.Match syntax: *, ?, [a-z], \\ to escape)", g)
		case strings.Contains(g, "**"):
			c.errorf(p, "pattern %q uses **, which does not cross '/' in path.Match syntax; write one pattern per directory, like reports/*.xml", g)
		case strings.HasPrefix(g, "/"):
			c.errorf(p, "pattern %q must be relative to the artifact's root (no leading '/')", g)
		}
	}
}

// pathMatch reports a malformed pattern; path.Match checks the whole pattern
// whatever the name.
func pathMatch(pattern string) (bool, error) { return path.Match(pattern, "") }

// checkChecks checks the settings of each configured check.
func checkChecks(c *checker, path string, ch *Checks) {
	nulls := false
	for _, name := range CheckNames {
		p := path + "." + name
		if _, set := c.values[p]; set && !c.has(p) {
			c.errorf(p, "%s has no settings, so it would not run; write `%s: {}` to run it with the defaults", name, name)
			nulls = true
		}
	}
	if !nulls && ch.Compile == nil && ch.Tests == nil && ch.SlowTests == nil &&
		ch.Lint == nil && ch.Security == nil && ch.Coverage == nil {
		c.errorf(path, "no checks; configure at least one of %s", strings.Join(CheckNames, ", "))
	}
	if t := ch.Tests; t != nil && t.MaxFailed < 0 {
		c.errorf(path+".tests.maxFailed", "maxFailed %d must be 0 or more", t.MaxFailed)
	}
	if s := ch.SlowTests; s != nil {
		sp := path + ".slowTests"
		checkDuration(c, sp+".suiteBudget", s.SuiteBudget)
		checkDuration(c, sp+".testBudget", s.TestBudget)
		if s.SuiteBudget == 0 && s.TestBudget == 0 && s.Regression == nil {
			c.errorf(sp, "slowTests sets no limit; give suiteBudget, testBudget or regression")
		}
		if r := s.Regression; r != nil {
			rp := sp + ".regression"
			if r.Percent <= 0 {
				c.errorf(rp+".percent", "percent %s must be more than 0 (the tolerated slowdown over the median, like 25)", formatNumber(r.Percent))
			}
			if c.has(rp+".builds") && (r.Builds < MinRegressionBuilds || r.Builds > MaxRegressionBuilds) {
				c.errorf(rp+".builds", "builds %d must be %d to %d (the passing builds the median is taken over)", r.Builds, MinRegressionBuilds, MaxRegressionBuilds)
			}
			checkDuration(c, rp+".minDuration", r.MinDuration)
		}
	}
	if l := ch.Lint; l != nil {
		if l.Level != "" && l.Level != "error" && l.Level != "warning" {
			c.errorf(path+".lint.level", "level %q must be error or warning", l.Level)
		}
		if l.Max < 0 {
			c.errorf(path+".lint.max", "max %d must be 0 or more", l.Max)
		}
	}
	if s := ch.Security; s != nil {
		sp := path + ".security"
		limits := []struct {
			key   string
			limit *int
		}{{"maxCritical", s.MaxCritical}, {"maxHigh", s.MaxHigh}, {"maxMedium", s.MaxMedium}, {"maxLow", s.MaxLow}}
		for _, l := range limits {
			if l.limit != nil && *l.limit < 0 {
				c.errorf(sp+"."+l.key, "%s %d must be 0 or more", l.key, *l.limit)
			}
		}
		for i, t := range s.Tools {
			if strings.TrimSpace(t) == "" {
				c.errorf(fmt.Sprintf("%s.tools[%d]", sp, i), "tool name must not be empty")
			}
		}
	}
	if cv := ch.Coverage; cv != nil && (cv.MinLines < 0 || cv.MinLines > 100) {
		c.errorf(path+".coverage.minLines", "minLines %s must be 0 to 100 (percent of lines)", formatNumber(cv.MinLines))
	}
}

// checkDuration reports a negative duration.
func checkDuration(c *checker, path string, d time.Duration) {
	if d < 0 {
		c.errorf(path, "duration %s must not be negative", d)
	}
}

// checkWaiver checks that a waiver names a check the gate runs, and ends.
func checkWaiver(c *checker, path string, w Waiver, ch *Checks) {
	known := false
	for _, name := range CheckNames {
		known = known || name == w.Check
	}
	switch {
	case !known:
		if s := suggestName(w.Check, CheckNames); s != "" {
			c.errorf(path+".check", "unknown check %q (did you mean %q?)", w.Check, s)
		} else {
			c.errorf(path+".check", "unknown check %q; want one of %s", w.Check, strings.Join(CheckNames, ", "))
		}
	case !configured(ch, w.Check):
		c.errorf(path+".check", "waiver for %s, which this gate does not run", w.Check)
	}
	if w.Commit == "" && w.Until.IsZero() {
		c.errorf(path, "a waiver must end: give commit (one commit) or until (a date), or both")
	}
	if w.Commit != "" && !commitPattern.MatchString(w.Commit) {
		c.errorf(path+".commit", "commit %q must be a commit SHA or a prefix of at least %d hex digits", w.Commit, MinWaiverCommit)
	}
	if strings.TrimSpace(w.Reason) == "" {
		c.errorf(path+".reason", "a waiver needs a reason, for the decision and the audit trail")
	}
}

// configured reports whether the gate runs the check called name.
func configured(ch *Checks, name string) bool {
	switch name {
	case "compile":
		return ch.Compile != nil
	case "tests":
		return ch.Tests != nil
	case "slowTests":
		return ch.SlowTests != nil
	case "lint":
		return ch.Lint != nil
	case "security":
		return ch.Security != nil
	case "coverage":
		return ch.Coverage != nil
	}
	return false
}

// suggestName returns the name closest to a mistyped one, or "" if none is close.
func suggestName(name string, names []string) string {
	fields := make([]field, len(names))
	for i, n := range names {
		fields[i] = field{key: n}
	}
	return suggest(name, fields)
}

// formatNumber prints a float the way the file would write it: 25, 12.5.
func formatNumber(f float64) string {
	return fmt.Sprintf("%g", f)
}
