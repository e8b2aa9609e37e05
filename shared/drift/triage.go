package drift

import (
	"path"
	"slices"
	"strings"
	"time"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
)

// DefaultSeverity is the severity of a change no rule rates.
const DefaultSeverity = "medium"

// change is one drifted (resource, property path) pair; a deleted resource, or
// a modified one CloudFormation lists no property of, has the path "". For a
// Terraform resource, the resource is its address and the path an attribute
// path.
type change struct {
	resource string
	path     string
}

// Triage rates and suppresses the drifted resources of a report by the
// policy's rules, as they stood at time at:
//
//   - each property difference takes the severity of the first rule whose
//     Type matches the resource type (path.Match) and whose Property is a
//     prefix of its path (by segment; empty matches any), else medium; a
//     resource takes the highest severity of its unsuppressed differences
//     (of all of them when all are suppressed);
//   - a difference is suppressed by the first suppression matching the same
//     way whose Until is zero or after at. A resource is Suppressed when all
//     its differences are; SuppressedBecause gives the reasons (by path, when
//     only some differences are suppressed).
//
// A deleted resource, which has no differences, is one change of path "":
// only rules and suppressions without a Property apply to it.
func Triage(d *policy.Drift, resources []ledger.DriftedResource, at time.Time) {
	for i := range resources {
		triageResource(d, &resources[i], at)
	}
}

func triageResource(d *policy.Drift, r *ledger.DriftedResource, at time.Time) {
	paths := diffPaths(r)
	var all, open []string // severities of every difference, of unsuppressed ones
	var reasons, partial []string
	for _, p := range paths {
		sev := severity(d, r.Type, p)
		all = append(all, sev)
		if s, ok := suppression(d, r.Type, p, at); ok {
			if !slices.Contains(reasons, s.Reason) {
				reasons = append(reasons, s.Reason)
			}
			partial = append(partial, pathName(p)+": "+s.Reason)
			continue
		}
		open = append(open, sev)
	}
	r.Severity = highest(all)
	r.Suppressed, r.SuppressedBecause = false, ""
	switch {
	case len(open) == 0:
		r.Suppressed, r.SuppressedBecause = true, strings.Join(reasons, "; ")
	case len(partial) > 0:
		r.Severity = highest(open)
		r.SuppressedBecause = strings.Join(partial, "; ")
	default:
		r.Severity = highest(open)
	}
}

// openChanges returns the unsuppressed changes of resources at time at, by the
// policy's suppressions.
func openChanges(d *policy.Drift, resources []ledger.DriftedResource, at time.Time) map[change]bool {
	out := map[change]bool{}
	for _, r := range resources {
		for _, p := range diffPaths(&r) {
			if _, ok := suppression(d, r.Type, p, at); !ok {
				out[change{resource: r.LogicalID, path: p}] = true
			}
		}
	}
	return out
}

// diffPaths are the property paths of r's differences, or "" for none.
func diffPaths(r *ledger.DriftedResource) []string {
	if len(r.Differences) == 0 {
		return []string{""}
	}
	out := make([]string, len(r.Differences))
	for i, d := range r.Differences {
		out[i] = d.Path
	}
	return out
}

func pathName(p string) string {
	if p == "" {
		return "(resource)"
	}
	return p
}

func severity(d *policy.Drift, typ, p string) string {
	for _, r := range d.Severities {
		if typeMatches(r.Type, typ) && propertyMatches(r.Property, p) {
			return r.Severity
		}
	}
	return DefaultSeverity
}

func suppression(d *policy.Drift, typ, p string, at time.Time) (policy.Suppression, bool) {
	for _, s := range d.Suppressions {
		if typeMatches(s.Type, typ) && propertyMatches(s.Property, p) && (s.Until.IsZero() || at.Before(s.Until)) {
			return s, true
		}
	}
	return policy.Suppression{}, false
}

func typeMatches(pattern, typ string) bool {
	ok, err := path.Match(pattern, typ)
	return err == nil && ok
}

// propertyMatches reports whether prefix is empty, or p is prefix or lies
// under it, segment by segment: /SecurityGroupIngress matches
// /SecurityGroupIngress/2, not /SecurityGroupIngressRules; a Terraform
// attribute path, ingress, matches ingress[0].from_port, not ingress_rules.
func propertyMatches(prefix, p string) bool {
	if prefix == "" {
		return true
	}
	if strings.HasPrefix(prefix, "/") {
		prefix = strings.TrimSuffix(prefix, "/")
		return p == prefix || strings.HasPrefix(p, prefix+"/")
	}
	rest, ok := strings.CutPrefix(p, prefix)
	return ok && (rest == "" || rest[0] == '.' || rest[0] == '[')
}

// highest returns the highest of severities (policy.Severities order),
// DefaultSeverity for none.
func highest(severities []string) string {
	best := ""
	for _, s := range severities {
		if best == "" || rank(s) < rank(best) {
			best = s
		}
	}
	if best == "" {
		return DefaultSeverity
	}
	return best
}

// rank orders severities, critical first; unknown ones last.
func rank(s string) int {
	if i := slices.Index(policy.Severities, s); i >= 0 {
		return i
	}
	return len(policy.Severities)
}
