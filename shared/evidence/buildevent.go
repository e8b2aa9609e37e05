package evidence

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/highwayhq/highway/shared/gate"
)

// The EventBridge source and detail type of a CodeBuild build's state change.
const (
	SourceCodeBuild            = "aws.codebuild"
	DetailTypeBuildStateChange = "CodeBuild Build State Change"
)

// The build environment variables Highway reads, from the build's exported
// variables (buildspec env.exported-variables) first, then from its plaintext
// environment variables (the project's, or a pipeline action's).
const (
	// EnvImageRepository names the ECR repository the build pushed to.
	EnvImageRepository = "HIGHWAY_IMAGE_REPOSITORY"
	// EnvImageDigest is the digest of the image the build pushed.
	EnvImageDigest = "HIGHWAY_IMAGE_DIGEST"
	// EnvBranch is the source branch, for builds a pipeline starts: a
	// CodeBuild action can set it to #{SourceVariables.BranchName}.
	EnvBranch = "HIGHWAY_BRANCH"
	// EnvPipelineExecution is the pipeline execution that started the
	// build: a CodeBuild action can set it to #{codepipeline.PipelineExecutionId}.
	// The gate looks for the build among that execution's actions first.
	EnvPipelineExecution = "HIGHWAY_PIPELINE_EXECUTION_ID"
	// EnvHeadRef is the ref a webhook build ran for, such as refs/heads/main.
	EnvHeadRef = "CODEBUILD_WEBHOOK_HEAD_REF"
	// EnvResolvedSourceVersion is the commit the build ran on.
	EnvResolvedSourceVersion = "CODEBUILD_RESOLVED_SOURCE_VERSION"
)

// phaseTime is how CodeBuild writes times inside its events.
// sha256Hex is a SHA-256 in hex, as CodeBuild reports an artifact's sha256sum.
var sha256Hex = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)

const phaseTime = "Jan 2, 2006 3:04:05 PM"

// maxPhase is the longest phase duration believed; CodeBuild builds time out
// after at most 36 hours.
const maxPhase = 30 * 24 * time.Hour

// BuildEvent is a decoded "CodeBuild Build State Change" event: the build as
// the gate judges it, and where the rest of its evidence is.
type BuildEvent struct {
	// Build is the build: id, project, status, phases, commit, branch, image
	// digest, and when it reached this state. App is left for the policy.
	Build gate.Build
	// BuildARN is the event's build-id, the build's ARN; CodeBuildReports.Read
	// takes it as it is.
	BuildARN string
	// Account and Region are where the build ran.
	Account, Region string
	// Complete says whether the build has finished.
	Complete bool
	// Initiator is who started the build: an IAM identity, or
	// codepipeline/<pipeline> for a pipeline action.
	Initiator string
	// Pipeline is the pipeline that started the build, if one did.
	Pipeline string
	// PipelineExecution is the execution of Pipeline that started the build,
	// from EnvPipelineExecution; empty when the build did not say.
	PipelineExecution string
	// Artifact is the build's output artifact in S3; zero when there is none.
	Artifact Location
	// ArtifactSHA256 is the artifact's SHA-256 as CodeBuild computed it (hex),
	// when it reported one.
	ArtifactSHA256 string
	// ImageRepository is the ECR repository name of the image the build
	// pushed, from EnvImageRepository; empty when it pushed none.
	ImageRepository string
	// ImageDigest is that image's digest, from EnvImageDigest.
	ImageDigest string
	// LogsURL links to the build's logs in the console.
	LogsURL string
}

type buildDetail struct {
	BuildStatus string `json:"build-status"`
	ProjectName string `json:"project-name"`
	BuildID     string `json:"build-id"`
	Info        struct {
		Artifact struct {
			Location string `json:"location"`
			SHA256   string `json:"sha256sum"`
		} `json:"artifact"`
		Environment struct {
			Variables []envVar `json:"environment-variables"`
		} `json:"environment"`
		BuildComplete         flexBool `json:"build-complete"`
		Initiator             string   `json:"initiator"`
		SourceVersion         string   `json:"source-version"`
		ResolvedSourceVersion string   `json:"resolved-source-version"`
		Logs                  struct {
			DeepLink string `json:"deep-link"`
		} `json:"logs"`
		Phases   []phaseDetail `json:"phases"`
		Exported []envVar      `json:"exported-environment-variables"`
	} `json:"additional-information"`
}

type envVar struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Value string `json:"value"`
}

type phaseDetail struct {
	Type     string   `json:"phase-type"`
	Status   string   `json:"phase-status"`
	Context  []string `json:"phase-context"`
	Duration *float64 `json:"duration-in-seconds"`
	Start    string   `json:"start-time"`
	End      string   `json:"end-time"`
}

// flexBool accepts true and "true": CodeBuild's events carry a boolean, the
// generated event schemas a string.
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	switch string(bytes.TrimSpace(data)) {
	case "true", `"true"`:
		*b = true
	case "false", `"false"`, "null", `""`:
		*b = false
	default:
		return fmt.Errorf("build-complete: %s is not a boolean", data)
	}
	return nil
}

// DecodeBuildEvent decodes a "CodeBuild Build State Change" event. An event
// of another kind, or one without build id, project or status, or with a
// malformed phase, is an error wrapping ErrBadEvent.
func DecodeBuildEvent(ev events.CloudWatchEvent) (BuildEvent, error) {
	if ev.Source != SourceCodeBuild || ev.DetailType != DetailTypeBuildStateChange {
		return BuildEvent{}, fmt.Errorf("%w: %q from %q is not a %q event", ErrBadEvent, ev.DetailType, ev.Source, DetailTypeBuildStateChange)
	}
	var d buildDetail
	if err := json.Unmarshal(ev.Detail, &d); err != nil {
		return BuildEvent{}, fmt.Errorf("%w: %s detail: %v", ErrBadEvent, DetailTypeBuildStateChange, err)
	}
	var missing []string
	for _, f := range []struct{ name, value string }{
		{"build-id", d.BuildID}, {"project-name", d.ProjectName}, {"build-status", d.BuildStatus},
	} {
		if f.value == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return BuildEvent{}, fmt.Errorf("%w: %s detail has no %s", ErrBadEvent, DetailTypeBuildStateChange, strings.Join(missing, ", "))
	}
	info := d.Info
	phases, last, err := decodePhases(info.Phases)
	if err != nil {
		return BuildEvent{}, fmt.Errorf("%w: build %s: %v", ErrBadEvent, d.BuildID, err)
	}
	env := environment(info.Exported, info.Environment.Variables)
	srcCommit, srcBranch := sourceVersion(info.SourceVersion)
	commit := first(sha(info.ResolvedSourceVersion), sha(env[EnvResolvedSourceVersion]), srcCommit)
	branch := first(strings.TrimPrefix(env[EnvBranch], "refs/heads/"), branchOf(env[EnvHeadRef]), srcBranch)
	at := ev.Time
	if at.IsZero() {
		at = last
	}
	out := BuildEvent{
		Build: gate.Build{
			ID:      BuildID(d.BuildID),
			Project: d.ProjectName,
			Commit:  commit,
			Branch:  branch,
			Digest:  env[EnvImageDigest],
			Status:  d.BuildStatus,
			Phases:  phases,
			At:      at,
		},
		BuildARN:        d.BuildID,
		Account:         ev.AccountID,
		Region:          ev.Region,
		Complete:        bool(info.BuildComplete),
		Initiator:       info.Initiator,
		ImageRepository: RepositoryName(env[EnvImageRepository]),
		ImageDigest:     env[EnvImageDigest],
		LogsURL:         info.Logs.DeepLink,
	}
	if p, ok := strings.CutPrefix(info.Initiator, "codepipeline/"); ok {
		out.Pipeline, out.PipelineExecution = p, env[EnvPipelineExecution]
	}
	if loc, err := ParseS3ARN(info.Artifact.Location); err == nil {
		out.Artifact = loc
		if sha256Hex.MatchString(info.Artifact.SHA256) {
			out.ArtifactSHA256 = strings.ToLower(info.Artifact.SHA256)
		}
	}
	return out, nil
}

// decodePhases converts the event's phases and returns the latest time any
// of them mentions, for an event that carries no time of its own.
func decodePhases(in []phaseDetail) ([]gate.Phase, time.Time, error) {
	var last time.Time
	phases := make([]gate.Phase, 0, len(in))
	for i, p := range in {
		if p.Type == "" {
			return nil, time.Time{}, fmt.Errorf("phase %d has no phase-type", i+1)
		}
		start, startErr := time.Parse(phaseTime, p.Start)
		end, endErr := time.Parse(phaseTime, p.End)
		for _, t := range []time.Time{start, end} {
			if t.After(last) {
				last = t
			}
		}
		var d time.Duration
		switch {
		case p.Duration != nil:
			s := *p.Duration
			if s < 0 || math.IsNaN(s) || s > maxPhase.Seconds() {
				return nil, time.Time{}, fmt.Errorf("phase %s: duration-in-seconds %v is out of range", p.Type, s)
			}
			d = time.Duration(s * float64(time.Second))
		case startErr == nil && endErr == nil && !end.Before(start) && end.Sub(start) <= maxPhase:
			d = end.Sub(start)
		}
		phases = append(phases, gate.Phase{Name: p.Type, Status: p.Status, Contexts: contexts(p.Context), Duration: d})
	}
	return phases, last, nil
}

// contexts drops the empty contexts CodeBuild writes for phases that went
// well (": " and the like).
func contexts(in []string) []string {
	var out []string
	for _, c := range in {
		if strings.Trim(c, ": \t\n") != "" {
			out = append(out, c)
		}
	}
	return out
}

// environment merges the build's variables by name: exported ones win over
// plaintext environment variables; empty values count as unset, and values
// of PARAMETER_STORE or SECRETS_MANAGER variables are references, not values.
func environment(exported, vars []envVar) map[string]string {
	env := map[string]string{}
	for _, v := range vars {
		if v.Value != "" && (v.Type == "" || v.Type == "PLAINTEXT") {
			env[v.Name] = v.Value
		}
	}
	for _, v := range exported {
		if v.Value != "" {
			env[v.Name] = v.Value
		}
	}
	return env
}

// sourceVersion reads a CodeBuild source version: a commit SHA, a ref such
// as refs/heads/main, or both as refs/heads/main^{SHA}.
func sourceVersion(v string) (commit, branch string) {
	if isSHA(v) {
		return v, ""
	}
	ref, rest, ok := strings.Cut(v, "^{")
	if ok {
		if sha, ok := strings.CutSuffix(rest, "}"); ok && isSHA(sha) {
			commit = sha
		}
	}
	if b, ok := strings.CutPrefix(ref, "refs/heads/"); ok {
		branch = b
	}
	return commit, branch
}

// branchOf returns the branch of refs/heads/<branch>, or "" for other refs.
func branchOf(ref string) string {
	b, _ := strings.CutPrefix(ref, "refs/heads/")
	if b == ref {
		return ""
	}
	return b
}

// first returns the first of values that is not empty.
func first(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// sha returns s if it is a commit id, else "".
func sha(s string) string {
	if isSHA(s) {
		return s
	}
	return ""
}

// isSHA says whether s is a full git commit id (SHA-1 or SHA-256).
func isSHA(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// BuildID turns a CodeBuild build ARN into the build id (project:uuid) the
// API takes; an id is returned as it is.
func BuildID(build string) string {
	if strings.HasPrefix(build, "arn:") {
		if _, id, ok := strings.Cut(build, ":build/"); ok {
			return id
		}
	}
	return build
}

// RepositoryName returns the repository name of an ECR repository URI
// (account.dkr.ecr.region.amazonaws.com/name); a name is returned as it is.
func RepositoryName(repository string) string {
	if host, name, ok := strings.Cut(repository, "/"); ok && strings.Contains(host, ".amazonaws.com") {
		return name
	}
	return repository
}
