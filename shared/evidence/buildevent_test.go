package evidence

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/highwayhq/highway/shared/localaws"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/highwayhq/highway/shared/gate"
)

// The build and image of the succeeded sample event.
const (
	buildID     = "checkout-build:b5f1b25e-6315-5b77-bc06-2cf217427490"
	buildARN    = "arn:aws:codebuild:eu-west-1:222222222222:build/" + buildID
	imageRepo   = "checkout-service"
	imageDigest = "sha256:e648cabf48d6a5984c1d5b81ccbeee918af76b27563b8fc615f1749ebd4b33c6"
	scanSample  = "../../events/ecr-image-scan.json"
)

const (
	succeededSample = "../../events/codebuild-build-succeeded.json"
	failedSample    = "../../events/codebuild-build-failed.json"
)

func TestDecodeBuildEventSucceeded(t *testing.T) {
	got, err := DecodeBuildEvent(localaws.Event(t, "codebuild-build-succeeded.json", nil))
	if err != nil {
		t.Fatalf("DecodeBuildEvent(%s) error = %v", succeededSample, err)
	}

	phase := func(name string, seconds int) gate.Phase {
		return gate.Phase{Name: name, Status: "SUCCEEDED", Duration: time.Duration(seconds) * time.Second}
	}
	want := BuildEvent{
		Build: gate.Build{
			ID:      buildID,
			Project: "checkout-build",
			Commit:  "9f4e2c1b7a6d5e8f0c3b2a1d4e7f6a9b8c5d2e1f",
			Branch:  "main",
			Digest:  imageDigest,
			Status:  "SUCCEEDED",
			Phases: []gate.Phase{
				phase("SUBMITTED", 0), phase("QUEUED", 1), phase("PROVISIONING", 25), phase("DOWNLOAD_SOURCE", 3),
				phase("INSTALL", 24), phase("PRE_BUILD", 14), phase("BUILD", 157), phase("POST_BUILD", 32),
				phase("UPLOAD_ARTIFACTS", 3), phase("FINALIZING", 2), {Name: "COMPLETED"},
			},
			At: time.Date(2026, 11, 17, 9, 47, 27, 0, time.UTC),
		},
		BuildARN:        buildARN,
		Account:         "222222222222",
		Region:          "eu-west-1",
		Complete:        true,
		Initiator:       "codepipeline/checkout-pipeline",
		Pipeline:        "checkout-pipeline",
		Artifact:        Location{Bucket: "codepipeline-eu-west-1-222222222222", Key: "checkout-pipeline/BuildArtif/Xq7Rb2K"},
		ArtifactSHA256:  "d3cec99112255db9bf4963f7798562b6a36f1bd0b2016918629e007d474deb70",
		ImageRepository: imageRepo,
		ImageDigest:     imageDigest,
		LogsURL:         "https://console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:log-groups/log-group/$252Faws$252Fcodebuild$252Fcheckout-build/log-events/b5f1b25e-6315-5b77-bc06-2cf217427490",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DecodeBuildEvent(%s) =\n%+v\nwant\n%+v", succeededSample, got, want)
	}
}

func TestDecodeBuildEventFailed(t *testing.T) {
	got, err := DecodeBuildEvent(localaws.Event(t, "codebuild-build-failed.json", nil))
	if err != nil {
		t.Fatalf("DecodeBuildEvent(%s) error = %v", failedSample, err)
	}

	if got.Build.Status != "FAILED" || got.Build.Commit != "4032766a1f4d50cd05796f97468fa2761db7ef23" {
		t.Errorf("Build = status %q, commit %q; want FAILED at 4032766", got.Build.Status, got.Build.Commit)
	}
	var build *gate.Phase
	for i, p := range got.Build.Phases {
		if p.Name == "BUILD" {
			build = &got.Build.Phases[i]
		} else if p.Status == "FAILED" || len(p.Contexts) > 0 {
			t.Errorf("phase %s = %+v, want it to have succeeded quietly", p.Name, p)
		}
	}
	wantBuild := gate.Phase{
		Name:     "BUILD",
		Status:   "FAILED",
		Contexts: []string{"COMMAND_EXECUTION_ERROR: Error while executing command: go build ./... Reason: exit status 1"},
		Duration: 64 * time.Second,
	}
	if build == nil || !reflect.DeepEqual(*build, wantBuild) {
		t.Errorf("BUILD phase = %+v, want %+v", build, wantBuild)
	}
	// The exported image variables are empty: the build pushed nothing.
	if got.ImageRepository != "" || got.ImageDigest != "" || got.Build.Digest != "" {
		t.Errorf("image = %q@%q (build digest %q), want none", got.ImageRepository, got.ImageDigest, got.Build.Digest)
	}
}

// TestBuildEventSamplesRoundTrip checks that the samples in events/ survive
// the Lambda runtime's decoding and re-encoding unchanged in meaning.
func TestBuildEventSamplesRoundTrip(t *testing.T) {
	for _, path := range []string{succeededSample, failedSample, scanSample} {
		t.Run(path, func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var ev events.CloudWatchEvent
			if err := json.Unmarshal(raw, &ev); err != nil {
				t.Fatal(err)
			}
			again, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			var want, got map[string]any
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(again, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s changes through events.CloudWatchEvent:\n%v\nwant\n%v", path, got, want)
			}
		})
	}
}

func TestDecodeBuildEventSource(t *testing.T) {
	const sha = "0123456789abcdef0123456789abcdef01234567"
	exported := func(vars ...string) func(d map[string]any) {
		return func(d map[string]any) {
			info := d["additional-information"].(map[string]any)
			var list []any
			for i := 0; i < len(vars); i += 2 {
				list = append(list, map[string]any{"name": vars[i], "value": vars[i+1]})
			}
			info["exported-environment-variables"] = list
		}
	}
	set := func(key string, value any) func(d map[string]any) {
		return func(d map[string]any) { d["additional-information"].(map[string]any)[key] = value }
	}
	noEnv := func(d map[string]any) {
		d["additional-information"].(map[string]any)["environment"].(map[string]any)["environment-variables"] = []any{}
	}
	both := func(edits ...func(map[string]any)) func(map[string]any) {
		return func(d map[string]any) {
			for _, e := range edits {
				e(d)
			}
		}
	}
	tests := []struct {
		name       string
		edit       func(d map[string]any)
		wantCommit string
		wantBranch string
		wantRepo   string
	}{
		{name: "branch from the pipeline's variable", edit: nil,
			wantCommit: "9f4e2c1b7a6d5e8f0c3b2a1d4e7f6a9b8c5d2e1f", wantBranch: "main", wantRepo: imageRepo},
		{name: "branch and commit in the source version", edit: both(noEnv, set("source-version", "refs/heads/feature/cart^{"+sha+"}")),
			wantCommit: sha, wantBranch: "feature/cart", wantRepo: imageRepo},
		{name: "a ref alone", edit: both(noEnv, set("source-version", "refs/heads/release")),
			wantBranch: "release", wantRepo: imageRepo},
		{name: "a pull request", edit: both(noEnv, set("source-version", "pr/12")),
			wantRepo: imageRepo},
		{name: "webhook head ref over the source version", edit: both(noEnv, set("source-version", "refs/heads/main^{"+sha+"}"),
			exported(EnvHeadRef, "refs/heads/hotfix", EnvResolvedSourceVersion, "ffffffffffffffffffffffffffffffffffffffff")),
			wantCommit: "ffffffffffffffffffffffffffffffffffffffff", wantBranch: "hotfix"},
		{name: "a tag is not a branch", edit: both(noEnv, set("source-version", sha), exported(EnvHeadRef, "refs/tags/v1.2.0")),
			wantCommit: sha},
		{name: "resolved source version wins", edit: set("resolved-source-version", sha),
			wantCommit: sha, wantBranch: "main", wantRepo: imageRepo},
		{name: "an exported variable beats the environment's", edit: exported(EnvBranch, "refs/heads/next", EnvImageRepository, "payments"),
			wantCommit: "9f4e2c1b7a6d5e8f0c3b2a1d4e7f6a9b8c5d2e1f", wantBranch: "next", wantRepo: "payments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeBuildEvent(localaws.Event(t, "codebuild-build-succeeded.json", tt.edit))
			if err != nil {
				t.Fatal(err)
			}
			if got.Build.Commit != tt.wantCommit || got.Build.Branch != tt.wantBranch || got.ImageRepository != tt.wantRepo {
				t.Errorf("DecodeBuildEvent() = commit %q, branch %q, repository %q; want %q, %q, %q",
					got.Build.Commit, got.Build.Branch, got.ImageRepository, tt.wantCommit, tt.wantBranch, tt.wantRepo)
			}
		})
	}
}

func TestDecodeBuildEventTolerates(t *testing.T) {
	tests := []struct {
		name string
		edit func(d map[string]any)
		ev   func(ev *events.CloudWatchEvent)
		want func(b BuildEvent) string // "" when b is right
	}{
		{
			name: "build-complete as a string",
			edit: func(d map[string]any) { d["additional-information"].(map[string]any)["build-complete"] = "true" },
			want: func(b BuildEvent) string { return check(b.Complete, "Complete = false") },
		},
		{
			name: "a build still running, no artifact yet",
			edit: func(d map[string]any) {
				d["build-status"] = "IN_PROGRESS"
				info := d["additional-information"].(map[string]any)
				info["build-complete"] = false
				delete(info, "artifact")
			},
			want: func(b BuildEvent) string {
				return check(!b.Complete && b.Artifact == Location{} && b.Build.Status == "IN_PROGRESS", fmt.Sprintf("%+v", b))
			},
		},
		{
			name: "no duration: from start and end",
			edit: func(d map[string]any) {
				p := d["additional-information"].(map[string]any)["phases"].([]any)[6].(map[string]any)
				delete(p, "duration-in-seconds")
			},
			want: func(b BuildEvent) string {
				return check(b.Build.Phases[6].Duration == 157*time.Second, fmt.Sprintf("BUILD took %v", b.Build.Phases[6].Duration))
			},
		},
		{
			name: "no event time: the latest phase time",
			ev:   func(ev *events.CloudWatchEvent) { ev.Time = time.Time{} },
			want: func(b BuildEvent) string {
				at := time.Date(2026, 11, 17, 9, 47, 26, 0, time.UTC)
				return check(b.Build.At.Equal(at), fmt.Sprintf("At = %v, want %v", b.Build.At, at))
			},
		},
		{
			name: "an artifact that is not in S3",
			edit: func(d map[string]any) {
				d["additional-information"].(map[string]any)["artifact"] = map[string]any{"location": ""}
			},
			want: func(b BuildEvent) string {
				return check(b.Artifact == Location{}, fmt.Sprintf("Artifact = %+v", b.Artifact))
			},
		},
		{
			name: "a build started by hand",
			edit: func(d map[string]any) { d["additional-information"].(map[string]any)["initiator"] = "dana.okafor" },
			want: func(b BuildEvent) string { return check(b.Pipeline == "", "Pipeline = "+b.Pipeline) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := localaws.Event(t, "codebuild-build-succeeded.json", tt.edit)
			if tt.ev != nil {
				tt.ev(&ev)
			}
			got, err := DecodeBuildEvent(ev)
			if err != nil {
				t.Fatalf("DecodeBuildEvent() error = %v", err)
			}
			if msg := tt.want(got); msg != "" {
				t.Error(msg)
			}
		})
	}
}

func check(ok bool, msg string) string {
	if ok {
		return ""
	}
	return msg
}

func TestDecodeBuildEventRefuses(t *testing.T) {
	phases := func(f func(p map[string]any)) func(d map[string]any) {
		return func(d map[string]any) {
			f(d["additional-information"].(map[string]any)["phases"].([]any)[6].(map[string]any))
		}
	}
	tests := []struct {
		name string
		edit func(d map[string]any)
		kind string
		want string
	}{
		{name: "another event", kind: "CodeBuild Build Phase Change", want: "is not a"},
		{name: "no build id", edit: func(d map[string]any) { delete(d, "build-id") }, want: "no build-id"},
		{name: "no project or status", edit: func(d map[string]any) { delete(d, "project-name"); d["build-status"] = "" },
			want: "no project-name, build-status"},
		{name: "a phase without type", edit: phases(func(p map[string]any) { delete(p, "phase-type") }), want: "phase 7 has no phase-type"},
		{name: "a negative duration", edit: phases(func(p map[string]any) { p["duration-in-seconds"] = -3 }), want: "out of range"},
		{name: "an endless phase", edit: phases(func(p map[string]any) { p["duration-in-seconds"] = 1e300 }), want: "out of range"},
		{name: "phases not a list", edit: func(d map[string]any) { d["additional-information"].(map[string]any)["phases"] = "BUILD" }, want: "detail"},
		{name: "build-complete not a boolean", edit: func(d map[string]any) { d["additional-information"].(map[string]any)["build-complete"] = "yes" },
			want: "not a boolean"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := localaws.Event(t, "codebuild-build-succeeded.json", tt.edit)
			if tt.kind != "" {
				ev.DetailType = tt.kind
			}
			_, err := DecodeBuildEvent(ev)
			if !errors.Is(err, ErrBadEvent) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("DecodeBuildEvent() error = %v, want ErrBadEvent with %q", err, tt.want)
			}
		})
	}
}

func TestParseS3ARN(t *testing.T) {
	tests := []struct {
		give    string
		want    Location
		wantErr bool
	}{
		{give: "arn:aws:s3:::codepipeline-eu-west-1-222222222222/checkout-pipeline/BuildArtif/Xq7Rb2K",
			want: Location{Bucket: "codepipeline-eu-west-1-222222222222", Key: "checkout-pipeline/BuildArtif/Xq7Rb2K"}},
		{give: "arn:aws-cn:s3:::artifacts/a.zip", want: Location{Bucket: "artifacts", Key: "a.zip"}},
		{give: "arn:aws:s3:::artifacts", wantErr: true},
		{give: "arn:aws:s3:::/a.zip", wantErr: true},
		{give: "arn:aws:s3:eu-west-1:222222222222:artifacts/a.zip", wantErr: true},
		{give: "arn:aws:codebuild:::artifacts/a.zip", wantErr: true},
		{give: "artifacts/a.zip", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseS3ARN(tt.give)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseS3ARN(%q) = %+v, %v; want %+v, error %v", tt.give, got, err, tt.want, tt.wantErr)
		}
	}
}

// FuzzDecodeBuildEvent is seeded with whole sample events of a few KB; run it
// with -fuzzminimizetime=3s, or the engine spends a minute minimizing each
// new input while reporting no progress.
func FuzzDecodeBuildEvent(f *testing.F) {
	for _, path := range []string{succeededSample, failedSample} {
		raw, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte(`{"source":"aws.codebuild","detail-type":"CodeBuild Build State Change","detail":{"build-id":"b","project-name":"p","build-status":"FAILED","additional-information":{"phases":[{"phase-type":"BUILD","duration-in-seconds":1.5e9}]}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var ev events.CloudWatchEvent
		if json.Unmarshal(data, &ev) != nil {
			return
		}
		got, err := DecodeBuildEvent(ev)
		if err != nil {
			if !errors.Is(err, ErrBadEvent) {
				t.Fatalf("error %v does not wrap ErrBadEvent", err)
			}
			return
		}
		b := got.Build
		if b.ID == "" || b.Project == "" || b.Status == "" {
			t.Fatalf("decoded %+v without id, project or status", b)
		}
		if b.Commit != "" && !isSHA(b.Commit) {
			t.Fatalf("commit %q is not a SHA", b.Commit)
		}
		for _, p := range b.Phases {
			if p.Name == "" || p.Duration < 0 || p.Duration > maxPhase {
				t.Fatalf("phase %+v", p)
			}
			for _, c := range p.Contexts {
				if strings.Trim(c, ": \t\n") == "" {
					t.Fatalf("phase %s keeps the empty context %q", p.Name, c)
				}
			}
		}
	})
}

func TestBuildID(t *testing.T) {
	tests := []struct {
		give, want string
	}{
		{buildARN, buildID},
		{buildID, buildID},
		{"arn:aws:codebuild:eu-west-1:222222222222:project/checkout-build", "arn:aws:codebuild:eu-west-1:222222222222:project/checkout-build"},
	}
	for _, tt := range tests {
		if got := BuildID(tt.give); got != tt.want {
			t.Errorf("BuildID(%q) = %q, want %q", tt.give, got, tt.want)
		}
	}
}

func TestRepositoryName(t *testing.T) {
	tests := []struct {
		give, want string
	}{
		{"checkout-service", "checkout-service"},
		{"team/checkout-service", "team/checkout-service"},
		{"222222222222.dkr.ecr.eu-west-1.amazonaws.com/checkout-service", "checkout-service"},
		{"222222222222.dkr.ecr.eu-west-1.amazonaws.com/team/checkout-service", "team/checkout-service"},
	}
	for _, tt := range tests {
		if got := RepositoryName(tt.give); got != tt.want {
			t.Errorf("RepositoryName(%q) = %q, want %q", tt.give, got, tt.want)
		}
	}
}

// A build a pipeline started says which execution, when the action passes it
// #{codepipeline.PipelineExecutionId}; a build no pipeline started has none.
func TestDecodeBuildEventPipelineExecution(t *testing.T) {
	withVar := func(initiator string) func(d map[string]any) {
		return func(d map[string]any) {
			info := d["additional-information"].(map[string]any)
			info["initiator"] = initiator
			env := info["environment"].(map[string]any)
			env["environment-variables"] = append(env["environment-variables"].([]any),
				map[string]any{"name": EnvPipelineExecution, "type": "PLAINTEXT", "value": "e-42"})
		}
	}
	tests := []struct {
		name          string
		edit          func(d map[string]any)
		wantPipeline  string
		wantExecution string
	}{
		{"a pipeline's build without the variable", nil, "checkout-pipeline", ""},
		{"a pipeline's build with it", withVar("codepipeline/checkout-pipeline"), "checkout-pipeline", "e-42"},
		{"a build someone started", withVar("ana.silva"), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeBuildEvent(localaws.Event(t, "codebuild-build-succeeded.json", tt.edit))
			if err != nil {
				t.Fatal(err)
			}
			if got.Pipeline != tt.wantPipeline || got.PipelineExecution != tt.wantExecution {
				t.Errorf("DecodeBuildEvent() = pipeline %q, execution %q; want %q, %q", got.Pipeline, got.PipelineExecution, tt.wantPipeline, tt.wantExecution)
			}
		})
	}
}
