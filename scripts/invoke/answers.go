package main

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/events"

	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/evidence"
	"github.com/highwayhq/highway/shared/localaws"
)

// linkSecret is the approval link key Secrets Manager answers with here;
// deployed, the CDK app generates it.
const linkSecret = "highway-invoke-approval-link-secret-0123456789ab"

// jobDetails is CodePipeline's answer to GetJobDetails for the sample job,
// from the module root: the job as gating's tests read it.
const jobDetails = "shared/gating/testdata/get-job-details.json"

// fake is the wire-level fake (shared/awsfake) answering every AWS service
// but DynamoDB as AWS would for the samples of events/: the reads from the
// answer files, the writes accepted. It tells the calls made through an
// access role apart from those made with the function's own credentials.
type fake struct {
	srv *awsfake.Server
	hub string // the hub's account: where a function's own credentials act

	mu       sync.Mutex
	answered map[string]bool   // operations the fake answers
	roles    map[string]string // access key handed out → the role's ARN
	builds   []builtBy         // CodeBuild builds sent to the function
}

// builtBy is a build a pipeline's Build action ran.
type builtBy struct{ pipeline, build string }

// newFake starts the fake with the answers read from the events folder dir
// and the module root root.
func newFake(root, dir, hub string) (*fake, error) {
	f := &fake{srv: awsfake.Start(), hub: hub, answered: map[string]bool{}, roles: map[string]string{}}
	if err := f.answer(root, dir); err != nil {
		f.srv.Close()
		return nil, err
	}
	return f, nil
}

// Close stops the fake.
func (f *fake) Close() { f.srv.Close() }

// on answers operation with fn.
func (f *fake) on(operation string, fn func(awsfake.Request) awsfake.Response) {
	f.mu.Lock()
	f.answered[operation] = true
	f.mu.Unlock()
	f.srv.OnFunc(operation, fn)
}

// accept answers operation with resp, whatever the call.
func (f *fake) accept(operation string, resp awsfake.Response) {
	f.on(operation, func(awsfake.Request) awsfake.Response { return resp })
}

// answer installs every answer.
func (f *fake) answer(root, dir string) error {
	f.on("AssumeRole", f.assumeRole)
	// Writes and actions: accepted.
	f.on("PutEvents", putEvents)
	f.on("Publish", func(r awsfake.Request) awsfake.Response {
		return awsfake.XML(200, `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>`+r.ID+
			`</MessageId></PublishResult><ResponseMetadata><RequestId>`+r.ID+`</RequestId></ResponseMetadata></PublishResponse>`)
	})
	for _, op := range []string{"SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat", "PutJobSuccessResult", "PutJobFailureResult"} {
		f.accept(op, awsfake.JSON(200, `{}`))
	}
	f.accept("PutParameter", awsfake.JSON(200, `{"Version":1,"Tier":"Standard"}`))
	f.on("StopPipelineExecution", func(r awsfake.Request) awsfake.Response {
		var in struct{ PipelineExecutionId string }
		_ = r.DecodeJSON(&in)
		return jsonOf(map[string]string{"pipelineExecutionId": in.PipelineExecutionId})
	})
	// CodeBuild: the builds publish no report groups (the samples' reports
	// travel in their output artifacts).
	f.on("BatchGetBuilds", func(r awsfake.Request) awsfake.Response {
		var in struct{ Ids []string }
		_ = r.DecodeJSON(&in)
		type build struct {
			ID         string   `json:"id"`
			ReportArns []string `json:"reportArns"`
		}
		out := struct {
			Builds []build `json:"builds"`
		}{Builds: []build{}}
		for _, id := range in.Ids {
			out.Builds = append(out.Builds, build{ID: id, ReportArns: []string{}})
		}
		return jsonOf(out)
	})
	f.accept("BatchGetReports", awsfake.JSON(200, `{"reports":[]}`))
	f.accept("DescribeTestCases", awsfake.JSON(200, `{"testCases":[]}`))
	f.on("SendMessageBatch", sendMessageBatch)
	f.on("ListActionExecutions", f.listActionExecutions)

	// Reads: from the answer files.
	for _, load := range []func(root, dir string) error{f.secrets, f.commits, f.scans, f.stacks, f.jobs, f.artifacts} {
		if err := load(root, dir); err != nil {
			return err
		}
	}
	return nil
}

// assumeRole hands out credentials of their own for each role, so that the
// calls made through it can be told apart.
func (f *fake) assumeRole(r awsfake.Request) awsfake.Response {
	role, session := r.Form.Get("RoleArn"), r.Form.Get("RoleSessionName")
	f.mu.Lock()
	key := fmt.Sprintf("ASIAINVOKE%06d", len(f.roles)+1)
	f.roles[key] = role
	f.mu.Unlock()
	account, name := arnAccount(role), role[strings.LastIndex(role, "/")+1:]
	return awsfake.XML(200, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>`+
		`<Credentials><AccessKeyId>`+key+`</AccessKeyId><SecretAccessKey>local</SecretAccessKey><SessionToken>local</SessionToken>`+
		`<Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>`+
		`<AssumedRoleUser><Arn>arn:aws:sts::`+xmlText(account)+`:assumed-role/`+xmlText(name)+`/`+xmlText(session)+`</Arn>`+
		`<AssumedRoleId>AROAINVOKE:`+xmlText(session)+`</AssumedRoleId></AssumedRoleUser>`+
		`</AssumeRoleResult><ResponseMetadata><RequestId>`+r.ID+`</RequestId></ResponseMetadata></AssumeRoleResponse>`)
}

// credentialKey finds the access key in a SigV4 Authorization header.
var credentialKey = regexp.MustCompile(`Credential=([^/]+)/`)

// roleOf is the ARN of the access role r was made through, or "" for a call
// made with the function's own credentials.
func (f *fake) roleOf(r awsfake.Request) string {
	m := credentialKey.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		return ""
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.roles[m[1]]
}

// accountOf is the account r was made in: its access role's, or the hub's.
func (f *fake) accountOf(r awsfake.Request) string {
	if role := f.roleOf(r); role != "" {
		return arnAccount(role)
	}
	return f.hub
}

// unanswered are the operations called that the fake had no answer for.
func (f *fake) unanswered() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.srv.Requests() {
		if !f.answered[r.Operation] && !slices.Contains(out, r.Operation) {
			out = append(out, r.Operation)
		}
	}
	return out
}

// putEvents accepts every entry.
func putEvents(r awsfake.Request) awsfake.Response {
	var in struct{ Entries []json.RawMessage }
	if err := r.DecodeJSON(&in); err != nil {
		return awsfake.APIError(400, "ValidationException", err.Error())
	}
	type entry struct{ EventId string }
	out := struct {
		FailedEntryCount int
		Entries          []entry
	}{Entries: make([]entry, len(in.Entries))}
	for i := range in.Entries {
		out.Entries[i].EventId = fmt.Sprintf("%s-%d", r.ID, i+1)
	}
	return jsonOf(out)
}

// sendMessageBatch accepts every message, with the checksum the SDK checks.
func sendMessageBatch(r awsfake.Request) awsfake.Response {
	var in struct {
		Entries []struct{ Id, MessageBody string }
	}
	if err := r.DecodeJSON(&in); err != nil {
		return awsfake.APIError(400, "InvalidParameterValue", err.Error())
	}
	type sent struct{ Id, MessageId, MD5OfMessageBody string }
	var out struct{ Successful []sent }
	for _, e := range in.Entries {
		sum := md5.Sum([]byte(e.MessageBody))
		out.Successful = append(out.Successful, sent{e.Id, r.ID + "-" + e.Id, hex.EncodeToString(sum[:])})
	}
	return jsonOf(out)
}

// sent tells the fake about an event sent to the function, for the answers
// that depend on it: a CodeBuild build a pipeline ran is the one its
// execution's Build action ran.
func (f *fake) sent(payload []byte) {
	var ev events.CloudWatchEvent
	if json.Unmarshal(payload, &ev) != nil || ev.DetailType != "CodeBuild Build State Change" {
		return
	}
	var d struct {
		BuildID string `json:"build-id"`
		Info    struct {
			Initiator string `json:"initiator"`
		} `json:"additional-information"`
	}
	if json.Unmarshal(ev.Detail, &d) != nil {
		return
	}
	if pipeline, ok := strings.CutPrefix(d.Info.Initiator, "codepipeline/"); ok {
		f.mu.Lock()
		f.builds = append(f.builds, builtBy{pipeline: pipeline, build: d.BuildID})
		f.mu.Unlock()
	}
}

// listActionExecutions answers with the Build actions of the builds sent to
// the function, each in an execution of its own.
func (f *fake) listActionExecutions(r awsfake.Request) awsfake.Response {
	var in struct{ PipelineName string }
	_ = r.DecodeJSON(&in)
	type result struct {
		ExternalExecutionID string `json:"externalExecutionId"`
	}
	type detail struct {
		PipelineExecutionID string `json:"pipelineExecutionId"`
		ActionExecutionID   string `json:"actionExecutionId"`
		StageName           string `json:"stageName"`
		ActionName          string `json:"actionName"`
		Status              string `json:"status"`
		Output              struct {
			ExecutionResult result `json:"executionResult"`
		} `json:"output"`
	}
	var out struct {
		ActionExecutionDetails []detail `json:"actionExecutionDetails"`
	}
	f.mu.Lock()
	for _, b := range f.builds {
		if b.pipeline != in.PipelineName {
			continue
		}
		_, id, _ := strings.Cut(evidence.BuildID(b.build), ":")
		d := detail{PipelineExecutionID: "exec-" + id[:min(8, len(id))], ActionExecutionID: id, StageName: "Build", ActionName: "Build", Status: "InProgress"}
		d.Output.ExecutionResult.ExternalExecutionID = b.build
		out.ActionExecutionDetails = append(out.ActionExecutionDetails, d)
	}
	f.mu.Unlock()
	return jsonOf(out)
}

// secrets answers GetSecretValue with the secrets of the answer files, by
// ARN or name, and with the approval link key for any other: only the
// deployment knows the link key, so the site makes one up and signs with it.
func (f *fake) secrets(_, dir string) error {
	byID := map[string]json.RawMessage{}
	for _, file := range answersTo("GetSecretValue") {
		var raw json.RawMessage
		if err := readJSON(filepath.Join(dir, file), &raw); err != nil {
			return err
		}
		var s struct{ ARN, Name string }
		if err := json.Unmarshal(raw, &s); err != nil || s.ARN == "" || s.Name == "" {
			return fmt.Errorf("%s: a secret without its ARN and Name", file)
		}
		byID[s.ARN], byID[s.Name] = raw, raw
	}
	f.on("GetSecretValue", func(r awsfake.Request) awsfake.Response {
		var in struct{ SecretId string }
		_ = r.DecodeJSON(&in)
		if raw, ok := byID[in.SecretId]; ok {
			return awsfake.JSON(200, string(raw))
		}
		key, _ := json.Marshal(map[string]string{"current": linkSecret})
		return jsonOf(map[string]string{"ARN": in.SecretId, "Name": "highway-approval-links", "SecretString": string(key), "VersionId": "v-1"})
	})
	return nil
}

// webhookSecret is the ARN of the secret GitHub signs the webhook's
// deliveries with, as its answer file names it.
func webhookSecret(dir string) (string, error) {
	var s struct{ ARN string }
	if err := readJSON(filepath.Join(dir, "secretsmanager-github-webhook.json"), &s); err != nil {
		return "", err
	}
	return s.ARN, nil
}

// commits answers GetCommit from CodeCommit's answers in the answer files.
func (f *fake) commits(_, dir string) error {
	byID := map[string]json.RawMessage{}
	for _, file := range answersTo("GetCommit") {
		var answers []json.RawMessage
		if err := readJSON(filepath.Join(dir, file), &answers); err != nil {
			return err
		}
		for _, a := range answers {
			var c struct {
				Commit struct {
					CommitID string `json:"commitId"`
				} `json:"commit"`
			}
			if err := json.Unmarshal(a, &c); err != nil || c.Commit.CommitID == "" {
				return fmt.Errorf("%s: an answer without commit.commitId", file)
			}
			byID[c.Commit.CommitID] = a
		}
	}
	f.on("GetCommit", func(r awsfake.Request) awsfake.Response {
		var in struct{ CommitId string }
		_ = r.DecodeJSON(&in)
		if a, ok := byID[in.CommitId]; ok {
			return awsfake.JSON(200, string(a))
		}
		return awsfake.APIError(400, "CommitDoesNotExistException", "no commit "+in.CommitId+" in events/")
	})
	return nil
}

// scans answers DescribeImageScanFindings from the ECR Image Scan events, by
// image digest.
func (f *fake) scans(_, dir string) error {
	byDigest := map[string]map[string]int{}
	for _, file := range answersTo("DescribeImageScanFindings") {
		var ev events.CloudWatchEvent
		if err := readJSON(filepath.Join(dir, file), &ev); err != nil {
			return err
		}
		var d struct {
			Digest string         `json:"image-digest"`
			Counts map[string]int `json:"finding-severity-counts"`
		}
		if err := json.Unmarshal(ev.Detail, &d); err != nil || d.Digest == "" {
			return fmt.Errorf("%s: not an ECR Image Scan event with an image digest", file)
		}
		byDigest[d.Digest] = d.Counts
	}
	f.on("DescribeImageScanFindings", func(r awsfake.Request) awsfake.Response {
		var in struct {
			RepositoryName string
			ImageID        struct{ ImageDigest string } `json:"imageId"`
		}
		_ = r.DecodeJSON(&in)
		counts, ok := byDigest[in.ImageID.ImageDigest]
		if !ok {
			return awsfake.APIError(400, "ScanNotFoundException", "no scan of "+in.ImageID.ImageDigest+" in events/")
		}
		return jsonOf(map[string]any{
			"repositoryName":    in.RepositoryName,
			"imageId":           map[string]string{"imageDigest": in.ImageID.ImageDigest},
			"imageScanStatus":   map[string]string{"status": "COMPLETE", "description": "The scan was completed successfully."},
			"imageScanFindings": map[string]any{"findingSeverityCounts": counts},
		})
	})
	return nil
}

// stacks answers CloudFormation: DescribeStacks lists the sample stacks in
// their own account (none elsewhere), a detection started gets the id the
// sample completion event completes, and its drifts are the sample's.
func (f *fake) stacks(_, dir string) error {
	read := func(op string) (string, error) {
		files := answersTo(op)
		if len(files) != 1 {
			return "", fmt.Errorf("%d answer files for %s, want 1", len(files), op)
		}
		b, err := os.ReadFile(filepath.Join(dir, files[0]))
		return string(b), err
	}
	list, err := read("DescribeStacks")
	if err != nil {
		return err
	}
	drifts, err := read("DescribeStackResourceDrifts")
	if err != nil {
		return err
	}
	first := regexp.MustCompile(`<StackId>([^<]+)</StackId>`).FindStringSubmatch(list)
	if first == nil {
		return fmt.Errorf("%s: no StackId", answersTo("DescribeStacks")[0])
	}
	account := arnAccount(first[1])
	var done events.CloudWatchEvent
	if err := readJSON(filepath.Join(dir, "cloudformation-drift-detection.json"), &done); err != nil {
		return err
	}
	var d struct {
		ID string `json:"stack-drift-detection-id"`
	}
	if err := json.Unmarshal(done.Detail, &d); err != nil || d.ID == "" {
		return fmt.Errorf("cloudformation-drift-detection.json: no stack-drift-detection-id")
	}
	const none = `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks/></DescribeStacksResult>` +
		`<ResponseMetadata><RequestId>none</RequestId></ResponseMetadata></DescribeStacksResponse>`
	f.on("DescribeStacks", func(r awsfake.Request) awsfake.Response {
		if f.accountOf(r) == account {
			return awsfake.XML(200, list)
		}
		return awsfake.XML(200, none)
	})
	f.on("DetectStackDrift", func(r awsfake.Request) awsfake.Response {
		return awsfake.XML(200, `<DetectStackDriftResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DetectStackDriftResult>`+
			`<StackDriftDetectionId>`+xmlText(d.ID)+`</StackDriftDetectionId></DetectStackDriftResult>`+
			`<ResponseMetadata><RequestId>`+r.ID+`</RequestId></ResponseMetadata></DetectStackDriftResponse>`)
	})
	f.accept("DescribeStackResourceDrifts", awsfake.XML(200, drifts))
	return nil
}

// jobs answers GetJobDetails for the sample pipeline job.
func (f *fake) jobs(root, _ string) error {
	raw, err := os.ReadFile(filepath.Join(root, jobDetails))
	if err != nil {
		return err
	}
	var job struct {
		JobDetails struct{ ID string } `json:"jobDetails"`
	}
	if err := json.Unmarshal(raw, &job); err != nil || job.JobDetails.ID == "" {
		return fmt.Errorf("%s: no jobDetails.id", jobDetails)
	}
	f.on("GetJobDetails", func(r awsfake.Request) awsfake.Response {
		var in struct{ JobId string }
		if r.DecodeJSON(&in) != nil || in.JobId != job.JobDetails.ID {
			return awsfake.APIError(400, "JobNotFoundException", "no job "+in.JobId+" but the sample's, "+job.JobDetails.ID)
		}
		return awsfake.JSON(200, string(raw))
	})
	return nil
}

// artifacts answers S3 GetObject with events/artifacts/<name>, zipped as
// CodeBuild uploads an output artifact, where name is the last part of the
// object's key.
func (f *fake) artifacts(_, dir string) error {
	folders := answersTo("GetObject")
	if len(folders) != 1 {
		return fmt.Errorf("%d answer folders for GetObject, want 1", len(folders))
	}
	base := filepath.Join(dir, folders[0])
	f.srv.Route("GetObject", "GET /{Bucket}/{Key...}")
	f.on("GetObject", func(r awsfake.Request) awsfake.Response {
		key := r.PathValues["Key"]
		folder := filepath.Join(base, path.Base(key))
		if st, err := os.Stat(folder); err != nil || !st.IsDir() {
			return awsfake.Response{Status: http.StatusNotFound, Header: http.Header{"Content-Type": {"application/xml"}},
				Body: []byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>` +
					xmlText(key) + `</Key><RequestId>` + r.ID + `</RequestId></Error>`)}
		}
		zipped, err := localaws.ZipFolder(folder)
		if err != nil {
			return awsfake.APIError(500, "InternalError", err.Error())
		}
		return awsfake.Response{Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/zip"}}, Body: zipped}
	})
	return nil
}

// jsonOf answers 200 with v as JSON.
func jsonOf(v any) awsfake.Response {
	b, err := json.Marshal(v)
	if err != nil {
		return awsfake.APIError(500, "InternalError", err.Error())
	}
	return awsfake.JSON(200, string(b))
}

// readJSON decodes the JSON file at name into v.
func readJSON(name string, v any) error {
	b, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// xmlText escapes s for an XML element's text.
func xmlText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// arnAccount is the account field of an ARN.
func arnAccount(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 5 {
		return ""
	}
	return parts[4]
}
