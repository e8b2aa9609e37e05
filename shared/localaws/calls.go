package localaws

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/highwayhq/highway/shared/awsconfig"
	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/function"
	"github.com/highwayhq/highway/shared/ledger"
)

// EnvCalls names a directory: when it is set, every site writes there, as
// its test ends, the AWS calls its functions made (a Recording, one file per
// site), for infra/stacks' TestEveryAWSCallIsAllowed to check against the
// synthesized IAM policies.
const EnvCalls = "HIGHWAY_CALLS"

// ExecutionRole is the Role of a call signed with the function's own
// credentials: its Lambda execution role, in the hub's account.
const ExecutionRole = "execution-role"

// Call is one AWS request a function made, as IAM authorizes it: one IAM
// action on the resources it names, by a role, in an account and region. A
// request IAM authorizes as several actions (a DynamoDB transaction, an
// AssumeRole with session tags, a task definition registered with tags and
// roles) is several calls.
type Call struct {
	// Function is the function that made the call (functions/<name>), or
	// empty when the site cannot tell.
	Function string `json:"function"`
	// API is the operation on the wire, such as "dynamodb:TransactWriteItems".
	API string `json:"api"`
	// Service is the IAM service prefix, such as ssm.
	Service string `json:"service"`
	// Operation is the IAM action, such as ssm:PutParameter.
	Operation string `json:"operation"`
	// Resources are the ARNs the action acts on, or "*" when IAM takes no
	// resource for it.
	Resources []string `json:"resources"`
	// Account is the account of the role that signed the call.
	Account string `json:"account"`
	// Region is the region of the call's signature.
	Region string `json:"region"`
	// Role is the ARN of the access role whose session signed the call,
	// ExecutionRole, or empty for credentials the site did not hand out (an
	// artifact's, given by CodePipeline).
	Role string `json:"role"`
	// AccessKey is the access key that signed the call.
	AccessKey string `json:"accessKey"`
	// Context holds the condition keys the request sets: the session's
	// aws:PrincipalTag/<key>, dynamodb:LeadingKeys, events:source and
	// events:detail-type, aws:TagKeys, iam:PassedToService, ...
	Context map[string]any `json:"context,omitempty"`
}

// Recording is what a site writes to EnvCalls: the calls of its functions,
// and the environment each ran with, whose placeholders (the table, the
// region, the secret's name) stand for what the CDK app sets.
type Recording struct {
	// Test is the test that made the site.
	Test string `json:"test"`
	// Env is the environment of each function deployed to the site, by name.
	Env map[string][]string `json:"env"`
	// Calls are the calls: those the fake answered, then those to DynamoDB
	// Local and S3, each in the order they arrived.
	Calls []Call `json:"calls"`
}

// ReadRecordings reads every recording in dir.
func ReadRecordings(dir string) ([]Recording, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	slices.Sort(files)
	var out []Recording
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var r Recording
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// credential is who holds an access key.
type credential struct {
	// function made the calls signed with it.
	function string
	// role is ExecutionRole, an access role's ARN, or "" for the test's own.
	role string
	// tags are the session's tags.
	tags map[string]string
	// test marks the test's own credentials (Config's, the fake's), whose
	// calls prepare and read the site and are not the functions'.
	test bool
}

// recorder keeps what a site needs to tell who made each call: the
// credentials it handed out, and the requests the fake does not see.
type recorder struct {
	mu     sync.Mutex
	keys   map[string]credential
	issued int
	// others are the requests to DynamoDB Local and S3, with the function
	// that owns the S3 (for credentials the site did not hand out).
	others []owned
}

// owned is a request and the function it is attributed to when its
// credentials are not the site's.
type owned struct {
	req      awsfake.Request
	function string
}

// newRecorder returns a recorder that knows the test's own credentials.
func newRecorder() *recorder {
	r := &recorder{keys: map[string]credential{awsfake.AccessKeyID: {test: true}}}
	if own, err := Config().Credentials.Retrieve(context.Background()); err == nil {
		r.keys[own.AccessKeyID] = credential{test: true}
	}
	return r
}

// functionKey is the access key of the function name's own credentials:
// letters and digits alone, which is all DynamoDB Local accepts.
func functionKey(name string) string {
	return "highway" + strings.Map(func(r rune) rune {
		if r < '0' || r > 'z' || (r > '9' && r < 'A') || (r > 'Z' && r < 'a') {
			return -1
		}
		return r
	}, name)
}

func (r *recorder) credential(key string) (credential, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.keys[key]
	return c, ok
}

// assumeRole answers STS AssumeRole with credentials of their own, which
// tell later calls apart by the role and session they were made through.
func (r *recorder) assumeRole(req awsfake.Request) awsfake.Response {
	key, _, _ := signature(req)
	caller, _ := r.credential(key)
	role := req.Form.Get("RoleArn")
	tags := map[string]string{}
	for i := 1; req.Form.Has(fmt.Sprintf("Tags.member.%d.Key", i)); i++ {
		tags[req.Form.Get(fmt.Sprintf("Tags.member.%d.Key", i))] = req.Form.Get(fmt.Sprintf("Tags.member.%d.Value", i))
	}
	r.mu.Lock()
	r.issued++
	issued := fmt.Sprintf("%s%06d", SpokeAccessKey, r.issued)
	r.keys[issued] = credential{function: caller.function, role: role, tags: tags}
	r.mu.Unlock()
	account, name := arnAccount(role), role[strings.LastIndex(role, "/")+1:]
	session := req.Form.Get("RoleSessionName")
	return awsfake.XML(200, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>
		<Credentials><AccessKeyId>`+issued+`</AccessKeyId><SecretAccessKey>s</SecretAccessKey><SessionToken>t</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>
		<AssumedRoleUser><Arn>arn:aws:sts::`+account+`:assumed-role/`+name+`/`+session+`</Arn><AssumedRoleId>AROA:`+session+`</AssumedRoleId></AssumedRoleUser>
		</AssumeRoleResult><ResponseMetadata><RequestId>r-`+issued+`</RequestId></ResponseMetadata></AssumeRoleResponse>`)
}

// record keeps a request the fake does not see.
func (r *recorder) record(req awsfake.Request, fn string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.others = append(r.others, owned{req, fn})
}

// proxy starts a reverse proxy in front of DynamoDB Local at endpoint that
// records every request, and returns its URL.
func (r *recorder) proxy(tb testing.TB, endpoint string) string {
	tb.Helper()
	target, err := url.Parse(endpoint)
	if err != nil {
		tb.Fatalf("%s=%s: %v", EnvDynamoDB, endpoint, err)
	}
	forward := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		op := req.Header.Get("X-Amz-Target")
		r.record(awsfake.Request{
			Operation: op[strings.LastIndex(op, ".")+1:], Protocol: awsfake.ProtocolJSON,
			Method: req.Method, Host: req.Host, URL: req.URL, Header: req.Header.Clone(), Body: body,
		}, "")
		forward.ServeHTTP(w, req)
	}))
	tb.Cleanup(srv.Close)
	return srv.URL
}

// RoleOf says which role signed req: the ARN of the access role whose
// session's credentials signed it, ExecutionRole for a function's own
// credentials, or "" for credentials the site did not hand out.
func (s *Site) RoleOf(req awsfake.Request) string {
	key, _, _ := signature(req)
	c, _ := s.rec.credential(key)
	return c.role
}

// RoleOf says which role signed req, as Site.RoleOf.
func (d *Deployment) RoleOf(req awsfake.Request) string { return d.site.RoleOf(req) }

// AccessRole is the ARN of the access role the function's environment
// names, in account: the role its calls for the apps there must go through.
func (d *Deployment) AccessRole(account string) string {
	var name string
	for _, kv := range d.Env {
		if v, ok := strings.CutPrefix(kv, function.EnvAccessRole+"="); ok {
			name = v
		}
	}
	return awsconfig.NewAccounts(aws.Config{}, name, "", "").RoleARN(account)
}

// StartS3 starts S3 as StartS3 does, for the deployment's function: the
// site records the requests it serves as the function's calls, those signed
// with credentials it did not hand out (a job's artifact credentials) too.
func (d *Deployment) StartS3(tb testing.TB, buckets ...string) *S3 {
	tb.Helper()
	return startS3(tb, func(req *http.Request) {
		d.site.rec.record(awsfake.Request{
			Operation: req.Method + " " + req.URL.Path, Protocol: awsfake.ProtocolREST,
			Method: req.Method, Host: req.Host, URL: req.URL, Header: req.Header.Clone(),
		}, d.name)
	}, buckets...)
}

// Calls returns the AWS calls the site's functions made so far: those the
// fake answered, and those to DynamoDB Local and S3.
func (s *Site) Calls() ([]Call, error) {
	s.rec.mu.Lock()
	others := slices.Clone(s.rec.others)
	s.rec.mu.Unlock()
	var all []owned
	for _, req := range s.AWS.Requests() {
		all = append(all, owned{req: req})
	}
	all = append(all, others...)
	var out []Call
	var errs []string
	for _, o := range all {
		key, region, _ := signature(o.req)
		c, ok := s.rec.credential(key)
		if c.test || key == "" {
			// The test's own calls, and unsigned requests, which AWS refuses
			// before IAM decides anything.
			continue
		}
		if !ok {
			c.function = o.function
		}
		account := s.Policy.Hub.Account
		if c.role != ExecutionRole {
			account = arnAccount(c.role)
		}
		calls, err := callsOf(o.req, region, account)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		for _, call := range calls {
			call.Function, call.Role, call.AccessKey, call.Account = c.function, c.role, key, account
			for k, v := range c.tags {
				if call.Context == nil {
					call.Context = map[string]any{}
				}
				call.Context["aws:PrincipalTag/"+k] = v
			}
			out = append(out, call)
		}
	}
	if len(errs) > 0 {
		return out, fmt.Errorf("calls no IAM action is known for (add it to localaws.callsOf):\n%s", strings.Join(errs, "\n"))
	}
	return out, nil
}

// write writes the site's recording to dir, in a file of its own.
func (s *Site) write(tb testing.TB, dir string) {
	tb.Helper()
	calls, err := s.Calls()
	if err != nil {
		tb.Error(err)
	}
	rec := Recording{Test: tb.Name(), Env: map[string][]string{}, Calls: calls}
	var names []string
	s.rec.mu.Lock()
	for _, d := range s.deployments {
		rec.Env[d.name] = d.Env
		names = appendNew(names, d.name)
	}
	s.rec.mu.Unlock()
	raw, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	name := strings.Map(func(r rune) rune {
		if strings.ContainsRune("+-_.", r) || ('0' <= r && r <= '9') || ('A' <= r && r <= 'Z') || ('a' <= r && r <= 'z') {
			return r
		}
		return '_'
	}, strings.Join(names, "+")+"-"+tb.Name())
	f, err := os.CreateTemp(dir, name+"-*.json")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(raw); err != nil {
		tb.Fatal(err)
	}
}

// signature returns the access key, region and service of req's SigV4
// credential scope (Credential=<key>/<date>/<region>/<service>/aws4_request).
func signature(req awsfake.Request) (key, region, service string) {
	_, scope, ok := strings.Cut(req.Header.Get("Authorization"), "Credential=")
	if !ok {
		return "", "", ""
	}
	scope, _, _ = strings.Cut(scope, ",")
	parts := strings.Split(scope, "/")
	if len(parts) != 5 {
		return "", "", ""
	}
	return parts[0], parts[2], parts[3]
}

// arnAccount is the account field of an ARN.
func arnAccount(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[4]
}

// iamPrefixes are the IAM service prefixes whose signing names differ.
var iamPrefixes = map[string]string{"monitoring": "cloudwatch"}

// batchActions are the operations IAM authorizes as another action: SQS's
// batches as their single forms.
var batchActions = map[string]string{"sqs:SendMessageBatch": "sqs:SendMessage"}

// callsOf derives the calls IAM authorizes for req, signed in region by a
// role of account: the action and the resources the request names, per
// the Service Authorization Reference, and the condition keys it sets.
func callsOf(req awsfake.Request, region, account string) ([]Call, error) {
	_, _, signing := signature(req)
	service := signing
	if p, ok := iamPrefixes[signing]; ok {
		service = p
	}
	w := wire{Request: req}
	if req.Protocol != awsfake.ProtocolQuery && len(req.Body) > 0 && service != "s3" {
		if err := json.Unmarshal(req.Body, &w.body); err != nil {
			return nil, fmt.Errorf("%s %s: %w", service, req.Operation, err)
		}
	}
	op := req.Operation
	if service == "s3" {
		op = s3Operation(req)
	}
	arn := func(svc, resource string) string {
		return "arn:aws:" + svc + ":" + region + ":" + account + ":" + resource
	}
	one := func(resources ...string) []Call {
		action := service + ":" + op
		if a, ok := batchActions[action]; ok {
			action = a
		}
		return []Call{{Operation: action, Resources: resources}}
	}
	var calls []Call
	switch service + ":" + op {
	case "cloudformation:DescribeStacks", "cloudformation:DetectStackDrift", "cloudformation:DescribeStackResourceDrifts":
		name := w.str("StackName")
		switch {
		case name == "":
			calls = one("*")
		case strings.HasPrefix(name, "arn:"):
			calls = one(name)
		default: // by name: the stack's id, which its ARN ends with, is not in the request
			calls = one(arn("cloudformation", "stack/"+name+"/*"))
		}
	case "cloudformation:DescribeStackDriftDetectionStatus", "cloudformation:ListStacks",
		"codepipeline:GetJobDetails", "codepipeline:PutJobSuccessResult", "codepipeline:PutJobFailureResult",
		"ecs:DescribeTaskDefinition",
		"states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat":
		calls = one("*")
	case "apprunner:DescribeService", "apprunner:UpdateService", "apprunner:ListOperations", "apprunner:StartDeployment",
		"apprunner:PauseService", "apprunner:ResumeService":
		calls = one(w.str("ServiceArn"))
	case "apprunner:ListServices":
		calls = one("*")
	case "eks:DescribeCluster": // GET /clusters/{name}
		calls = one(arn("eks", "cluster/"+req.PathValues["name"]))
	case "cloudwatch:ListTagsForResource":
		calls = one(w.str("ResourceARN"))
	case "codebuild:BatchGetBuilds":
		var projects []string
		for _, id := range w.strs("ids") {
			project, _, _ := strings.Cut(id, ":")
			if strings.HasPrefix(id, "arn:") { // arn:aws:codebuild:<region>:<account>:build/<project>:<id>
				project = strings.TrimPrefix(strings.SplitN(id, ":", 6)[5], "build/")
				project, _, _ = strings.Cut(project, ":")
			}
			projects = appendNew(projects, arn("codebuild", "project/"+project))
		}
		calls = one(projects...)
	case "codebuild:BatchGetReports", "codebuild:DescribeTestCases":
		var groups []string
		for _, r := range append(w.strs("reportArns"), w.str("reportArn")) {
			if r == "" {
				continue
			}
			// arn:aws:codebuild:<region>:<account>:report/<group>:<id>
			parts := strings.SplitN(r, ":", 6)
			group, _, _ := strings.Cut(strings.TrimPrefix(parts[len(parts)-1], "report/"), ":")
			groups = appendNew(groups, strings.Join(parts[:5], ":")+":report-group/"+group)
		}
		calls = one(groups...)
	case "codecommit:GetCommit", "codecommit:GetBranch", "codecommit:GetFile":
		calls = one(arn("codecommit", w.str("repositoryName")))
	case "codecommit:CreateCommit":
		// IAM authorizes a commit by the branch it moves, too.
		calls = one(arn("codecommit", w.str("repositoryName")))
		calls[0].Context = map[string]any{"codecommit:References": []string{"refs/heads/" + w.str("branchName")}}
	case "codepipeline:ListActionExecutions", "codepipeline:StopPipelineExecution":
		calls = one(arn("codepipeline", w.str("pipelineName")))
	case "codepipeline:StartPipelineExecution":
		calls = one(arn("codepipeline", w.str("name")))
	case "dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
		"dynamodb:Query", "dynamodb:Scan", "dynamodb:DescribeTable":
		calls = []Call{dynamoCall(op, w.body, arn)}
	case "dynamodb:TransactWriteItems", "dynamodb:TransactGetItems":
		// IAM authorizes each item as the action it is alone.
		items, _ := w.body["TransactItems"].([]any)
		for _, it := range items {
			for kind, v := range asMap(it) {
				action, ok := map[string]string{"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}[kind]
				if !ok {
					return nil, fmt.Errorf("dynamodb %s: item kind %s", op, kind)
				}
				c := dynamoCall(action, asMap(v), arn)
				c.Context["dynamodb:EnclosingOperation"] = op
				calls = append(calls, c)
			}
		}
	case "dynamodb:BatchWriteItem", "dynamodb:BatchGetItem":
		for table, v := range asMap(w.body["RequestItems"]) {
			var keys []string
			var items []any
			if op == "BatchGetItem" {
				items, _ = asMap(v)["Keys"].([]any)
			} else {
				for _, r := range asList(v) {
					if put := asMap(asMap(r)["PutRequest"]); put != nil {
						items = append(items, put["Item"])
					} else {
						items = append(items, asMap(asMap(r)["DeleteRequest"])["Key"])
					}
				}
			}
			for _, it := range items {
				keys = appendNew(keys, attrString(asMap(it)[ledger.Schema.PartitionKey]))
			}
			calls = append(calls, Call{Operation: service + ":" + op, Resources: []string{arn("dynamodb", "table/"+table)},
				Context: map[string]any{"dynamodb:LeadingKeys": keys}})
		}
		slices.SortFunc(calls, func(a, b Call) int { return strings.Compare(a.Resources[0], b.Resources[0]) })
	case "ecr:DescribeImageScanFindings":
		registry := w.str("registryId")
		if registry == "" {
			registry = account
		}
		calls = one("arn:aws:ecr:" + region + ":" + registry + ":repository/" + w.str("repositoryName"))
	case "ecs:DescribeServices", "ecs:UpdateService":
		cluster := w.str("cluster")
		if cluster == "" {
			cluster = "default"
		}
		cluster = cluster[strings.LastIndex(cluster, "/")+1:]
		var services []string
		for _, s := range append(w.strs("services"), w.str("service")) {
			switch {
			case s == "":
			case strings.HasPrefix(s, "arn:"):
				services = append(services, s)
			default:
				services = append(services, arn("ecs", "service/"+cluster+"/"+s))
			}
		}
		calls = one(services...)
	case "ecs:RegisterTaskDefinition":
		calls = one("*")
		if tags := asList(w.body["tags"]); len(tags) > 0 {
			ctx := map[string]any{"ecs:CreateAction": op}
			addRequestTags(ctx, tags, "key", "value")
			// The revision is not known before the registration answers.
			calls = append(calls, Call{Operation: "ecs:TagResource", Resources: []string{arn("ecs", "task-definition/"+w.str("family")+":*")}, Context: ctx})
		}
		for _, role := range []string{w.str("taskRoleArn"), w.str("executionRoleArn")} {
			if role != "" {
				calls = append(calls, Call{Operation: "iam:PassRole", Resources: []string{role},
					Context: map[string]any{"iam:PassedToService": "ecs-tasks.amazonaws.com"}})
			}
		}
	case "events:PutEvents":
		buses := map[string]*Call{}
		var order []string
		for _, e := range asList(w.body["Entries"]) {
			e := asMap(e)
			bus, _ := e["EventBusName"].(string)
			if bus == "" {
				bus = "default"
			}
			if !strings.HasPrefix(bus, "arn:") {
				bus = arn("events", "event-bus/"+bus)
			}
			c, ok := buses[bus]
			if !ok {
				c = &Call{Operation: "events:PutEvents", Resources: []string{bus}, Context: map[string]any{}}
				buses[bus] = c
				order = append(order, bus)
			}
			for _, k := range []string{"Source", "DetailType"} {
				key := map[string]string{"Source": "events:source", "DetailType": "events:detail-type"}[k]
				have, _ := c.Context[key].([]string)
				v, _ := e[k].(string)
				c.Context[key] = appendNew(have, v)
			}
		}
		for _, bus := range order {
			calls = append(calls, *buses[bus])
		}
	case "lambda:GetAlias", "lambda:UpdateAlias", "lambda:GetFunction", "lambda:ListVersionsByFunction":
		fn, qualifier := lambdaTarget(req)
		if !strings.HasPrefix(fn, "arn:") {
			fn = arn("lambda", "function:"+fn)
		}
		if qualifier != "" {
			fn += ":" + qualifier
		}
		calls = one(fn)
	case "s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:ListBucket":
		path := strings.TrimPrefix(req.URL.Path, "/") // path-style: /<bucket>/<key>
		calls = one("arn:aws:s3:::" + path)
	case "secretsmanager:GetSecretValue":
		id := w.str("SecretId")
		if !strings.HasPrefix(id, "arn:") {
			// By name: the ARN's random suffix is not in the request.
			id = arn("secretsmanager", "secret:"+id)
		}
		calls = one(id)
	case "sns:Publish":
		calls = one(cmp.Or(w.str("TopicArn"), w.str("TargetArn"), "*"))
	case "sqs:SendMessage", "sqs:SendMessageBatch":
		calls = one(QueueArn(w.str("QueueUrl"), region))
	case "ssm:GetParameter", "ssm:PutParameter":
		name := w.str("Name")
		if !strings.HasPrefix(name, "arn:") {
			name = arn("ssm", "parameter/"+strings.TrimPrefix(name, "/"))
		}
		calls = one(name)
	case "ssm:StartAutomationExecution":
		doc, owner := w.str("DocumentName"), account
		if strings.HasPrefix(doc, "arn:") { // arn:aws:ssm:<region>:<account>:document/<name>
			owner, doc = arnAccount(doc), doc[strings.LastIndex(doc, "/")+1:]
		}
		calls = one("arn:aws:ssm:" + region + ":" + owner + ":automation-definition/" + doc + ":" + cmp.Or(w.str("DocumentVersion"), "$DEFAULT"))
	case "states:DescribeExecution":
		calls = one(w.str("executionArn"))
	case "states:StartExecution":
		calls = one(w.str("stateMachineArn"))
	case "sts:AssumeRole":
		ctx := map[string]any{}
		var tags []any
		for i := 1; req.Form.Has(fmt.Sprintf("Tags.member.%d.Key", i)); i++ {
			tags = append(tags, map[string]any{"Key": req.Form.Get(fmt.Sprintf("Tags.member.%d.Key", i)), "Value": req.Form.Get(fmt.Sprintf("Tags.member.%d.Value", i))})
		}
		addRequestTags(ctx, tags, "Key", "Value")
		role := req.Form.Get("RoleArn")
		calls = []Call{{Operation: "sts:AssumeRole", Resources: []string{role}, Context: ctx}}
		if len(tags) > 0 {
			calls = append(calls, Call{Operation: "sts:TagSession", Resources: []string{role}, Context: ctx})
		}
	default:
		return nil, fmt.Errorf("%s %s (%s %s)", service, op, req.Method, req.URL)
	}
	for i := range calls {
		calls[i].API = service + ":" + req.Operation
		if service == "s3" {
			calls[i].API = service + ":" + op
		}
		calls[i].Service, calls[i].Region = service, region
	}
	return calls, nil
}

// wire is a request and its JSON body.
type wire struct {
	awsfake.Request
	body map[string]any
}

// str is the named string parameter: a top-level JSON member, or a query
// form value.
func (w wire) str(name string) string {
	if w.Form != nil {
		return w.Form.Get(name)
	}
	s, _ := w.body[name].(string)
	return s
}

// strs is the named list of strings: a JSON array, or a query form's
// name.member.N values.
func (w wire) strs(name string) []string {
	var out []string
	if w.Form != nil {
		for i := 1; w.Form.Has(fmt.Sprintf("%s.member.%d", name, i)); i++ {
			out = append(out, w.Form.Get(fmt.Sprintf("%s.member.%d", name, i)))
		}
		return out
	}
	for _, v := range asList(w.body[name]) {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// dynamoCall is the call of one item or table action: on the table or the
// index the input names, with the partition keys it touches as
// dynamodb:LeadingKeys.
func dynamoCall(action string, in map[string]any, arn func(svc, resource string) string) Call {
	table, _ := in["TableName"].(string)
	resource := arn("dynamodb", "table/"+table)
	pk := ledger.Schema.PartitionKey
	if index, _ := in["IndexName"].(string); index != "" {
		resource += "/index/" + index
		for _, ix := range ledger.Schema.Indexes {
			if ix.Name == index {
				pk = ix.PartitionKey // a query of an index is authorized by the index's partition key
			}
		}
	}
	ctx := map[string]any{}
	var key string
	switch {
	case in["Item"] != nil:
		key = attrString(asMap(in["Item"])[pk])
	case in["Key"] != nil:
		key = attrString(asMap(in["Key"])[pk])
	case in["KeyConditionExpression"] != nil:
		key = boundKey(in, pk)
	}
	if key != "" {
		ctx["dynamodb:LeadingKeys"] = []string{key}
	}
	return Call{Operation: "dynamodb:" + action, Resources: []string{resource}, Context: ctx}
}

// equality matches "<name> = <:value>" in a key condition expression.
var equality = regexp.MustCompile(`(#?[A-Za-z0-9_]+)\s*=\s*(:[A-Za-z0-9_]+)`)

// boundKey is the value a Query's key condition binds to the attribute pk.
func boundKey(in map[string]any, pk string) string {
	expr, _ := in["KeyConditionExpression"].(string)
	names, values := asMap(in["ExpressionAttributeNames"]), asMap(in["ExpressionAttributeValues"])
	for _, m := range equality.FindAllStringSubmatch(expr, -1) {
		name := m[1]
		if n, ok := names[name].(string); ok {
			name = n
		}
		if name == pk {
			return attrString(values[m[2]])
		}
	}
	return ""
}

// attrString is the value of a DynamoDB string or number attribute.
func attrString(v any) string {
	m := asMap(v)
	if s, ok := m["S"].(string); ok {
		return s
	}
	s, _ := m["N"].(string)
	return s
}

// addRequestTags sets aws:TagKeys and aws:RequestTag/<key> from a list of
// tags whose members are named key and value.
func addRequestTags(ctx map[string]any, tags []any, key, value string) {
	var keys []string
	for _, t := range tags {
		k, _ := asMap(t)[key].(string)
		v, _ := asMap(t)[value].(string)
		keys = append(keys, k)
		ctx["aws:RequestTag/"+k] = v
	}
	if len(keys) > 0 {
		ctx["aws:TagKeys"] = keys
	}
}

// lambdaTarget is the function and qualifier (alias or version) a Lambda
// REST request names in its path (or its Qualifier query parameter).
func lambdaTarget(req awsfake.Request) (fn, qualifier string) {
	fn, qualifier = req.PathValues["FunctionName"], req.PathValues["Name"]
	if fn == "" { // /2015-03-31/functions/<name>[/aliases/<alias>|/versions]
		parts := strings.Split(strings.TrimPrefix(req.URL.Path, "/"), "/")
		if len(parts) >= 3 {
			fn, _ = url.PathUnescape(parts[2])
		}
		if len(parts) >= 5 && parts[3] == "aliases" {
			qualifier = parts[4]
		}
	}
	if qualifier == "" {
		qualifier = req.URL.Query().Get("Qualifier")
	}
	return fn, qualifier
}

// s3Operation is the IAM action of a path-style S3 request.
func s3Operation(req awsfake.Request) string {
	_, key, _ := strings.Cut(strings.TrimPrefix(req.URL.Path, "/"), "/")
	switch {
	case key == "" && (req.Method == http.MethodGet || req.Method == http.MethodHead):
		return "ListBucket"
	case key != "" && (req.Method == http.MethodGet || req.Method == http.MethodHead) && req.URL.Query().Has("versionId"):
		return "GetObjectVersion"
	case key != "" && (req.Method == http.MethodGet || req.Method == http.MethodHead):
		return "GetObject"
	case key != "" && req.Method == http.MethodPut:
		return "PutObject"
	}
	return req.Method + " " + req.URL.Path
}

// QueueArn is the ARN of the queue at queueURL
// (https://sqs.<region>.amazonaws.com/<account>/<name>); region is the
// queue's when the URL's host does not name one.
func QueueArn(queueURL, region string) string {
	u, err := url.Parse(queueURL)
	if err != nil {
		return queueURL
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) != 2 {
		return queueURL
	}
	if host := strings.Split(u.Host, "."); len(host) > 2 && host[0] == "sqs" {
		region = host[1]
	}
	return "arn:aws:sqs:" + region + ":" + parts[0] + ":" + parts[1]
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// appendNew appends v to list unless it holds it already.
func appendNew(list []string, v string) []string {
	if slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}
