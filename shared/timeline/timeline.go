// Package timeline renders the ledger's causal chain for people: one line per
// record, oldest first, saying what happened, when, and who or what decided.
package timeline

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/highwayhq/highway/shared/ledger"
)

// timeFormat is the timestamp each line starts with, always UTC.
const timeFormat = "2006-01-02 15:04:05Z"

// Write prints one line per record, in the order given (the ledger's reads are
// already time-ordered).
func Write(w io.Writer, recs []ledger.Record) error {
	for _, r := range recs {
		if _, err := fmt.Fprintln(w, Line(r)); err != nil {
			return err
		}
	}
	return nil
}

// Line renders one record: its time, its kind, and a summary of what it says.
func Line(r ledger.Record) string {
	h := r.RecordHeader()
	return fmt.Sprintf("%s  %-13s %s", h.At.UTC().Format(timeFormat), h.Kind, summary(r))
}

func summary(r ledger.Record) string {
	switch r := r.(type) {
	case *ledger.Commit:
		return join(short(r.ID), r.Repo+"@"+r.Branch, with("app", r.App), with("committed", stamp(r.CommittedAt)),
			with("by", r.Author), with("pushed by", who(r.Pusher)))
	case *ledger.Build:
		return join(r.ID, r.Project, r.Status, with("took", took(r.At, r.EndedAt)))
	case *ledger.GateDecision:
		var failed []string
		for _, c := range r.Checks {
			if !c.Passed && !c.Waived {
				failed = append(failed, fmt.Sprintf("%s (%s)", c.Name, c.Reason))
			}
		}
		return join(strings.ToUpper(string(r.Verdict)), with("build", r.ID), with("digest", short(r.Digest)),
			fmt.Sprintf("%d checks", len(r.Checks)), with("failed:", strings.Join(failed, ", ")))
	case *ledger.Artifact:
		loc := r.Repository
		if r.Type == ledger.ArtifactS3 {
			loc = "s3://" + r.Bucket + "/" + r.Key
		}
		q := ""
		if r.Quarantined {
			q = "QUARANTINED"
		}
		return join(short(r.Digest), string(r.Type), loc, with("app", r.App), q)
	case *ledger.Promotion:
		return join(short(r.Digest), arrow(r.From, r.Env), with("app", r.App), string(r.Status), r.Reason)
	case *ledger.Approval:
		return join(string(r.Decision), with("by", who(r.Approver)), with("for", r.App+"/"+r.Env), short(r.Digest))
	case *ledger.Deployment:
		return join(short(r.Digest), "to "+r.App+"/"+r.Env, string(r.Status), with("took", r.Duration.String()),
			with("commits", fmt.Sprint(len(r.Commits))))
	case *ledger.Incident:
		state := "open"
		if !r.ResolvedAt.IsZero() {
			state = "resolved after " + r.ResolvedAt.Sub(r.At).Round(time.Second).String()
		}
		return join(r.Alarm, r.App+"/"+r.Env, state, with("deployment", r.DeploymentID))
	case *ledger.Remediation:
		dry := ""
		if r.DryRun {
			dry = "(dry-run)"
		}
		return join(r.Action, dry, with("incident", r.IncidentID), r.Result)
	case *ledger.ApprovalRequest:
		state := string(r.Status)
		if r.DecidedBy != "" {
			state += " by " + r.DecidedBy
		}
		return join(r.App+"/"+r.Env, fmt.Sprintf("%d of %d approvers needed", r.Quorum, len(r.Approvers)), state, with("promotion", r.PromotionID))
	case *ledger.DriftReport:
		return join(r.Stack, r.App+"/"+r.Env, r.Status, with("drifted", fmt.Sprint(len(r.Drifted))))
	}
	return r.RecordHeader().ID
}

// join keeps the non-empty parts, separated by two spaces.
func join(parts ...string) string {
	var keep []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" && p != "/" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, "  ")
}

// with labels a value, or is empty when the value is.
func with(label, value string) string {
	if value == "" || value == "0" || value == "0s" {
		return ""
	}
	return label + " " + value
}

// short abbreviates commit SHAs and digests the way git does.
func short(id string) string {
	algo, hex, found := strings.Cut(id, ":")
	if !found {
		hex, algo = id, ""
	}
	if len(hex) > 12 {
		hex = hex[:12]
	}
	if algo != "" {
		return algo + ":" + hex
	}
	return hex
}

// who shortens an IAM ARN to the session or user name at its end.
func who(arn string) string {
	if i := strings.LastIndexByte(arn, '/'); i >= 0 && strings.HasPrefix(arn, "arn:") {
		return arn[i+1:]
	}
	return arn
}

func arrow(from, to string) string {
	if from == "" {
		return "to " + to
	}
	return from + " → " + to
}

func took(start, end time.Time) string {
	if end.IsZero() {
		return ""
	}
	return end.Sub(start).Round(time.Second).String()
}

// stamp formats an instant like the line's own time, or is empty when zero.
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeFormat)
}
