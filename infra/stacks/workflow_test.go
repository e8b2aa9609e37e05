package stacks

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/highwayhq/highway/shared/approval"
	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/bus"
	"github.com/highwayhq/highway/shared/deploy"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/localaws"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/promotion"
	"github.com/highwayhq/highway/shared/route"
)

// stateMachine is one state machine of a synthesized app: its stack, its
// logical id, and its definition as Step Functions reads it, with each Lambda
// function's ARN in place of its reference.
type stateMachine struct {
	stack, id  string
	definition map[string]any
	// functions names the functions the definition invokes, by ARN.
	functions map[string]string
}

// stateMachines returns every state machine of h's stacks.
func stateMachines(t *testing.T, h *Highway) []stateMachine {
	t.Helper()
	var out []stateMachine
	for _, stack := range stacksOf(h) {
		tpl := templateOf(t, stack)
		arns := map[string]string{}
		names := map[string]string{}
		for id, fn := range tpl.ofType("AWS::Lambda::Function") {
			name := flat(fn.Properties["FunctionName"])
			arn := "arn:aws:lambda:" + *stack.Region() + ":" + *stack.Account() + ":function:" + name
			arns["${"+id+".Arn}"] = arn
			names[arn] = name
		}
		for id, sm := range tpl.ofType("AWS::StepFunctions::StateMachine") {
			text, ok := resolve(sm.Properties["DefinitionString"], stack).(string)
			if !ok {
				t.Fatalf("%s: DefinitionString is not a string once resolved", id)
			}
			for ref, arn := range arns {
				text = strings.ReplaceAll(text, ref, arn)
			}
			var def map[string]any
			if err := json.Unmarshal([]byte(text), &def); err != nil {
				t.Fatalf("%s: the definition is not JSON: %v\n%s", id, err, text)
			}
			out = append(out, stateMachine{stack: *stack.StackName(), id: id, definition: def, functions: names})
		}
	}
	return out
}

// nodeTool returns the paths of node and of a file of scripts/node, or skips
// (fails under make test) when either is missing.
func nodeTool(t *testing.T, rel string) (node, file string) {
	t.Helper()
	file, err := filepath.Abs(filepath.Join("..", "..", "scripts", "node", rel))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(file); err != nil {
		if os.Getenv(localaws.EnvServices) == "required" {
			t.Fatalf("%s is missing although %s=required", file, localaws.EnvServices)
		}
		t.Skipf("%s is missing: run `make test`, which installs it", file)
	}
	node, err = exec.LookPath("node")
	if err != nil {
		t.Skip("node is missing")
	}
	return node, file
}

// TestStateMachinesAreValidASL validates every state machine the app
// synthesizes with asl-validator (scripts/node, pinned), an Amazon States
// Language validator written independently of Highway, JSONPaths and ARNs
// included.
func TestStateMachinesAreValidASL(t *testing.T) {
	node, validator := nodeTool(t, "node_modules/asl-validator/dist/bin/asl-validator.js")
	machines := stateMachines(t, synth(t, examplePolicy(t)))
	if len(machines) == 0 {
		t.Fatal("the example policy's app has no state machine")
	}
	dir := t.TempDir()
	for _, sm := range machines {
		file := filepath.Join(dir, sm.id+".json")
		js, err := json.MarshalIndent(sm.definition, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, js, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(node, validator, "--json-path", file).CombinedOutput()
		t.Logf("asl-validator %s/%s (%d states): %s", sm.stack, sm.id, len(sm.definition["States"].(map[string]any)), strings.TrimSpace(string(out)))
		if err != nil {
			t.Errorf("asl-validator refused %s/%s: %v\n%s", sm.stack, sm.id, err, out)
		}
	}
}

// approvalMachine is the promotion state machine of h.
func approvalMachine(t *testing.T, h *Highway) stateMachine {
	t.Helper()
	for _, sm := range stateMachines(t, h) {
		if strings.Contains(sm.id, "Promotion") {
			return sm
		}
	}
	t.Fatal("no promotion state machine")
	return stateMachine{}
}

// TestWorkflowSharesItsNamesWithGo checks that the approval state machine,
// as synthesized, uses only the names the Go code defines: its states are
// promotion's State constants, every error it retries or catches is one a Go
// type produces (by the name the Lambda Go runtime gives it), a States.* or
// a Lambda service error, and its status choice compares the promotion
// function's statuses.
func TestWorkflowSharesItsNamesWithGo(t *testing.T) {
	sm := approvalMachine(t, synth(t, examplePolicy(t)))

	// The errors Go produces: the Lambda error names of the error types the
	// workflow's functions return, and the error the approval function's
	// SendTaskFailure sends.
	produced := map[string]string{
		promotion.ErrorName(&promotion.PreconditionFailed{}): "promotion.PreconditionFailed",
		promotion.ErrorName(&approval.InputError{}):          "approval.InputError",
		approval.ErrorRejected:                               "approval's SendTaskFailure",
	}
	for name, want := range map[string]string{promotion.ErrorPreconditionFailed: "promotion.PreconditionFailed", approval.ErrorInputError: "approval.InputError"} {
		if produced[name] != want {
			t.Errorf("the constant %q is not the Lambda error name of %s", name, want)
		}
	}
	states := map[string]bool{}
	for _, s := range []string{promotion.StatePreconditions, promotion.StateRequestApproval, promotion.StateExpireApproval, promotion.StateDeploy,
		promotion.StateWaitForDeployment, promotion.StateStatus, promotion.StateDeploymentStatus, promotion.StateRecordSucceeded,
		promotion.StateRecordFailed, promotion.StateRecordExpired, promotion.StateRecordRejected, promotion.StateRecordRefused, promotion.StateFailed} {
		states[s] = true
	}
	statuses := []string{promotion.StatusDeploying, promotion.StatusSucceeded, promotion.StatusFailed}

	defined := sm.definition["States"].(map[string]any)
	for name, v := range defined {
		state := v.(map[string]any)
		if !states[name] {
			t.Errorf("state %q is not a promotion.State constant", name)
		}
		for _, field := range []string{"Retry", "Catch"} {
			for _, r := range list(state[field]) {
				for _, e := range strs(path(r, "ErrorEquals")) {
					if strings.HasPrefix(e, "States.") || strings.HasPrefix(e, "Lambda.") {
						continue
					}
					if _, ok := produced[e]; !ok {
						t.Errorf("%s's %s names the error %q, which no Go type produces", name, field, e)
					}
				}
			}
		}
		for _, c := range list(state["Choices"]) {
			if v, _ := path(c, "StringEquals").(string); !slices.Contains(statuses, v) {
				t.Errorf("%s compares %q, not a status the promotion function answers", name, v)
			}
		}
		if state["Type"] == "Fail" && state["Error"] != promotion.ErrorPromotionFailed {
			t.Errorf("%s fails with %v, want %s", name, state["Error"], promotion.ErrorPromotionFailed)
		}
	}
	for s := range states {
		if _, ok := defined[s]; !ok {
			t.Errorf("the state machine has no state %q", s)
		}
	}
}

// The workflow's test data: the artifact promoted, its commit, and the link
// secret in Secrets Manager.
const (
	flowDigest = "sha256:e648cabf48d6a5984c1d5b81ccbeee918af76b27563b8fc615f1749ebd4b33c6"
	flowCommit = "9f4e2c1a7b3d5e6f8091a2b3c4d5e6f708192a3b"
	flowSecret = "q7Vx2mR9tL4wZ8nK3pH6sB1cF5gJ0dY7eU2iO9aS4vQ8xT3w"
	// flowURL stands for the approval function's URL in the links.
	flowURL = "https://approval.lambda-url.eu-west-1.on.aws/"
	// flowUpdated is the ECS deployment UpdateService starts in
	// shared/deploy/testdata/ecs_update_service.json.
	flowUpdated = "ecs-svc/8120459273658102214"
)

// flowStep is what a scenario does before one invocation of a Task state (the
// nth of that state, from 1): act on the world, or have the Lambda service
// refuse the invocation with the error it returns ("" invokes).
type flowStep func(f *flow, state string, n int) (lambdaError string)

// flowScenario is one execution of the approval workflow.
type flowScenario struct {
	name string
	// quorum is the prod approval's quorum; both approvers are asked.
	quorum int
	// timeoutSeconds, when set, replaces the approval timeout of the input
	// promote starts the execution with.
	timeoutSeconds int
	step           flowStep
	// waiting acts once the approval request waits for its task token.
	waiting func(f *flow)

	wantPath    []string
	wantRetried map[string]int
	// wantError is the execution's error ("": it succeeds); wantCaught the
	// error the execution caught at $.error ("": none).
	wantError, wantCaught string
	wantStatus            ledger.PromotionStatus
	wantDeployment        ledger.DeploymentStatus // "": none in prod
	wantRequest           ledger.ApprovalStatus
	wantQuarantined       bool
}

// TestDeployedApprovalWorkflow runs the approval state machine exactly as
// synthesized, with aws-local-stepfunctions (an independent Amazon States
// Language interpreter, scripts/node/sfn-run.mjs): each Lambda task invokes
// the function's built binary under the Lambda RIE, with the environment the
// template gives it, against DynamoDB Local and the wire-level fake. Promote
// starts the execution on its tick, as in an account; the approval task's
// token comes from the context object, and the approval function's own
// SendTaskSuccess or SendTaskFailure, caught by the fake's Step Functions
// endpoint, resumes it. Each scenario checks the states entered, in order,
// the execution's end, and the ledger afterwards.
func TestDeployedApprovalWorkflow(t *testing.T) {
	node, runner := nodeTool(t, "sfn-run.mjs")
	nodeTool(t, "node_modules/aws-local-stepfunctions/package.json")
	localaws.Require(t, localaws.EnvRIE)
	localaws.Require(t, localaws.EnvDynamoDB)
	dir := t.TempDir()
	binaries := map[string]string{}
	for _, name := range promotionFunctions {
		binaries[name] = localaws.Build(t, filepath.Join(dir, name), "functions/"+name)
	}

	w := deployed(t, synth(t, examplePolicy(t)))
	approved := []string{promotion.StatePreconditions, promotion.StateRequestApproval, promotion.StateDeploy,
		promotion.StateWaitForDeployment, promotion.StateStatus, promotion.StateDeploymentStatus}
	for _, sc := range []flowScenario{{
		name:   "approved by quorum, deployed after a look at it deploying",
		quorum: 2,
		waiting: func(f *flow) {
			f.decide("ana.silva@example.com", approval.ActionApprove)
			if n := len(f.site.AWS.Invocations("SendTaskSuccess")); n != 0 {
				f.t.Errorf("one approval of a quorum of two answered the task (%d SendTaskSuccess)", n)
			}
			f.decide("lee.chen@example.com", approval.ActionApprove)
		},
		step: func(f *flow, state string, n int) string {
			if state == promotion.StateStatus && n == 2 {
				f.ecsEvent("SERVICE_DEPLOYMENT_COMPLETED")
			}
			return ""
		},
		wantPath: append(slices.Clone(approved), promotion.StateWaitForDeployment, promotion.StateStatus,
			promotion.StateDeploymentStatus, promotion.StateRecordSucceeded),
		wantStatus: ledger.PromotionSucceeded, wantDeployment: ledger.DeploymentSuccess, wantRequest: ledger.ApprovalApproved,
	}, {
		name:       "rejected",
		quorum:     1,
		waiting:    func(f *flow) { f.decide("lee.chen@example.com", approval.ActionReject) },
		wantPath:   []string{promotion.StatePreconditions, promotion.StateRequestApproval, promotion.StateRecordRejected},
		wantCaught: approval.ErrorRejected, wantStatus: ledger.PromotionRejected, wantRequest: ledger.ApprovalRejected,
	}, {
		name:           "approval timed out",
		quorum:         1,
		timeoutSeconds: 1,
		waiting:        func(*flow) {},
		wantPath:       []string{promotion.StatePreconditions, promotion.StateRequestApproval, promotion.StateExpireApproval, promotion.StateRecordExpired},
		wantCaught:     "States.Timeout", wantStatus: ledger.PromotionExpired, wantRequest: ledger.ApprovalExpired,
	}, {
		name:   "precondition failed",
		quorum: 1,
		step: func(f *flow, state string, n int) string {
			if state == promotion.StatePreconditions && n == 1 {
				if err := f.promoter.Quarantine(context.Background(), flowDigest, "a scan found CVE-2026-0001 after the gate"); err != nil {
					f.t.Fatal(err)
				}
			}
			return ""
		},
		wantPath:   []string{promotion.StatePreconditions, promotion.StateRecordRefused},
		wantCaught: promotion.ErrorPreconditionFailed, wantStatus: ledger.PromotionRefused, wantQuarantined: true,
	}, {
		name:    "deploy failed",
		quorum:  1,
		waiting: func(f *flow) { f.decide("ana.silva@example.com", approval.ActionApprove) },
		step: func(f *flow, state string, n int) string {
			if state == promotion.StateStatus && n == 1 {
				f.ecsEvent("SERVICE_DEPLOYMENT_FAILED")
			}
			return ""
		},
		wantPath:   append(slices.Clone(approved), promotion.StateRecordFailed, promotion.StateFailed),
		wantError:  promotion.ErrorPromotionFailed,
		wantStatus: ledger.PromotionFailed, wantDeployment: ledger.DeploymentFailure, wantRequest: ledger.ApprovalApproved, wantQuarantined: true,
	}, {
		name:    "retryable errors retried: the Lambda service's, then the function's own",
		quorum:  1,
		waiting: func(f *flow) { f.decide("ana.silva@example.com", approval.ActionApprove) },
		step: func(f *flow, state string, n int) string {
			switch {
			case state == promotion.StateDeploy && n == 1:
				return "Lambda.TooManyRequestsException"
			case state == promotion.StateDeploy && n == 2:
				f.ecsDown = true // every UpdateService fails, however often the SDK asks
			case state == promotion.StateDeploy && n == 3:
				f.ecsDown = false
			case state == promotion.StateStatus && n == 1:
				f.ecsEvent("SERVICE_DEPLOYMENT_COMPLETED")
			}
			return ""
		},
		wantPath:    append(slices.Clone(approved), promotion.StateRecordSucceeded),
		wantRetried: map[string]int{promotion.StateDeploy: 2},
		wantStatus:  ledger.PromotionSucceeded, wantDeployment: ledger.DeploymentSuccess, wantRequest: ledger.ApprovalApproved,
	}} {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			// What the scenario changes is in the policy the functions ship
			// with, not in the templates.
			p := examplePolicy(t)
			_, prod := prodOf(t, p)
			prod.Approval.Quorum = sc.quorum
			// The container of the task definition ECS answers with
			// (shared/deploy/testdata).
			prod.Deploy.ECS.Container = "web"
			f := newFlow(t, w, p, binaries)
			f.run(t, node, runner, sc)
		})
	}
}

// prodOf is checkout's prod environment in p.
func prodOf(t *testing.T, p *policy.Policy) (*policy.App, *policy.Environment) {
	t.Helper()
	app, ok := p.App("checkout")
	if !ok {
		t.Fatal("the example policy has no app checkout")
	}
	env, ok := app.Environment("prod")
	if !ok || env.Approval == nil {
		t.Fatal("checkout has no prod with approval")
	}
	return app, env
}

// flow is one execution of the approval workflow on a site of its own.
type flow struct {
	t        *testing.T
	site     *localaws.Site
	emus     map[string]*localaws.Emulator
	promoter *promotion.Promoter // the test's own, on the same ledger
	machine  stateMachine

	mu      sync.Mutex
	stdin   io.Writer // the interpreter's, once it runs
	ecsDown bool
}

// deployedWorkflow is the approval workflow as an app synthesizes it: the
// state machine, and the environment of each promotion function, with the
// references of the hub's template made local (the ledger table's name is
// table, which each site replaces by its own).
type deployedWorkflow struct {
	machine stateMachine
	env     map[string][]string
	table   string
}

// secretArn is the ARN of the link secret in the hub of h.
func secretArn(hub policy.Hub) string {
	return "arn:aws:secretsmanager:" + hub.Region + ":" + hub.Account + ":secret:highway-approval-links-AbCdEf"
}

// deployed reads the approval workflow of h.
func deployed(t *testing.T, h *Highway) *deployedWorkflow {
	t.Helper()
	hub := h.Hub.Policy.Hub
	w := &deployedWorkflow{machine: approvalMachine(t, h), env: map[string][]string{}}
	tpl := templateOf(t, h.Hub.Stack)
	local := hubArns(tpl, hub)
	for id, r := range tpl.Resources {
		switch r.Type {
		case "AWS::DynamoDB::Table":
			w.table = "ledger-of-the-site-" + id
			local["${"+id+"}"] = w.table
		case "AWS::Events::EventBus":
			local["${"+id+"}"] = flat(r.Properties["Name"])
		case "AWS::SecretsManager::Secret":
			local["${"+id+"}"] = secretArn(hub)
		case "AWS::Lambda::Url":
			local["${"+id+".FunctionUrl}"] = flowURL
		}
	}
	for _, name := range promotionFunctions {
		var env []string
		for k, v := range functionEnv(t, tpl, hub, name) {
			if k == policy.PolicyFileEnv {
				continue // the policy shipped beside the function, which the site ships
			}
			value, ok := withArns(resolve(v, h.Hub.Stack), local).(string)
			if !ok || strings.Contains(value, "${") {
				t.Fatalf("%s's %s = %v: no local stand-in for it", name, k, v)
			}
			env = append(env, k+"="+value)
		}
		// The functions run in the hub's region, where its resources are.
		w.env[name] = append(env, "AWS_REGION="+hub.Region, "AWS_LAMBDA_FUNCTION_NAME="+FunctionName(hub, name))
	}
	return w
}

// newFlow prepares a site with the policy p, the three promotion functions
// running under the RIE with the environment the template gives them, and a
// ledger in which the artifact went through dev and staging, staging two
// hours ago.
func newFlow(t *testing.T, w *deployedWorkflow, p *policy.Policy, binaries map[string]string) *flow {
	t.Helper()
	site := localaws.NewSite(t)
	site.Ship(t, p)
	f := &flow{t: t, site: site, emus: map[string]*localaws.Emulator{}, machine: w.machine}
	hub := p.Hub

	aws := site.AWS
	aws.On("PutEvents", awsfake.JSON(200, `{"FailedEntryCount":0,"Entries":[{"EventId":"e-1"}]}`))
	aws.On("Publish", awsfake.XML(200, `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-1</MessageId></PublishResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></PublishResponse>`))
	aws.On("GetSecretValue", awsfake.JSON(200, `{"ARN":"`+secretArn(hub)+`","Name":"highway-approval-links","SecretString":"{\"current\":\"`+flowSecret+`\"}","VersionId":"v-1"}`))
	aws.On("StartExecution", awsfake.JSON(200, `{"executionArn":"arn:aws:states:`+hub.Region+`:`+hub.Account+`:execution:x:y","startDate":1.7e9}`))
	aws.On("DescribeExecution", awsfake.JSON(200, `{"status":"RUNNING"}`))
	for op, file := range map[string]string{"DescribeServices": "ecs_describe_services.json", "DescribeTaskDefinition": "ecs_describe_task_definition.json", "RegisterTaskDefinition": "ecs_register_task_definition.json"} {
		aws.On(op, awsfake.JSON(200, deployTestdata(t, file)))
	}
	updated := deployTestdata(t, "ecs_update_service.json")
	aws.OnFunc("UpdateService", func(awsfake.Request) awsfake.Response {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.ecsDown {
			return awsfake.JSON(500, `{"__type":"ServerException","message":"Service unavailable"}`)
		}
		return awsfake.JSON(200, updated)
	})
	// The approval function's answers resume the execution, as in Step
	// Functions: the fake passes them to the interpreter.
	aws.OnFunc("SendTaskSuccess", func(r awsfake.Request) awsfake.Response {
		var in struct{ TaskToken, Output string }
		if err := r.DecodeJSON(&in); err != nil {
			return awsfake.JSON(400, `{"__type":"InvalidOutput","message":"undecodable"}`)
		}
		f.send(map[string]any{"token": in.TaskToken, "output": in.Output})
		return awsfake.JSON(200, `{}`)
	})
	aws.OnFunc("SendTaskFailure", func(r awsfake.Request) awsfake.Response {
		var in struct{ TaskToken, Error, Cause string }
		if err := r.DecodeJSON(&in); err != nil {
			return awsfake.JSON(400, `{"__type":"InvalidToken","message":"undecodable"}`)
		}
		f.send(map[string]any{"token": in.TaskToken, "error": in.Error, "cause": in.Cause})
		return awsfake.JSON(200, `{}`)
	})

	for _, name := range promotionFunctions {
		env := slices.Clone(w.env[name])
		for i, kv := range env {
			env[i] = strings.ReplaceAll(kv, w.table, site.Table)
		}
		d := site.Install(name, binaries[name], env...)
		f.emus[name] = localaws.Emulate(t, d.Bootstrap, d.Env)
	}

	// The artifact passed its gate three hours ago, reached dev at once and
	// staging once dev had soaked, and staging reported two hours ago.
	l := ledger.NewDynamo(localaws.DynamoDB(t), site.Table)
	now := time.Now().UTC()
	clock := now.Add(-3 * time.Hour)
	f.promoter = promotion.New(p, l, nopBus{}, func(*policy.App, *policy.Environment) (deploy.Deployer, error) { return doneDeployer{}, nil },
		noWorkflow{t}, "", promotion.WithClock(func() time.Time { return clock }))
	ctx := context.Background()
	app, _ := prodOf(t, p)
	if err := l.Put(ctx, &ledger.Commit{Header: ledger.Header{ID: flowCommit, App: app.Name, Commit: flowCommit, At: clock}, CommittedAt: clock.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	a, err := f.promoter.Register(ctx, app.Name, flowCommit, flowDigest, ledger.ArtifactRef{Type: ledger.ArtifactImage, Repository: "checkout-service"})
	if err != nil {
		t.Fatal(err)
	}
	dev, _ := app.Environment("dev")
	staging, _ := app.Environment("staging")
	if _, err := f.promoter.Request(ctx, a, dev, "", clock); err != nil {
		t.Fatal(err)
	}
	if err := f.promoter.Advance(ctx, app, dev); err != nil {
		t.Fatal(err)
	}
	clock = now.Add(-2 * time.Hour)
	if err := f.promoter.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if ours, err := f.promoter.Finished(ctx, app, staging, doneDeployer{}.handle(), true, "pipeline succeeded"); err != nil || !ours {
		t.Fatalf("staging did not finish: %v, %v", ours, err)
	}
	clock = now
	return f
}

// deployTestdata is a file of shared/deploy/testdata: AWS's answers to the
// ECS deployer's calls.
func deployTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "shared", "deploy", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// nopBus takes events the test's own promoter publishes while it prepares
// the ledger.
type nopBus struct{}

func (nopBus) Publish(context.Context, ...bus.Event) error { return nil }

// doneDeployer deploys dev and staging for the preparation: staging's
// deployment is a pipeline execution the test then reports finished.
type doneDeployer struct{}

func (doneDeployer) handle() string { return "pipeline-execution-staging" }

func (d doneDeployer) Deploy(_ context.Context, t deploy.Target) (deploy.Result, error) {
	if t.Env == "staging" {
		return deploy.Result{Handle: d.handle(), Detail: "pipeline started"}, nil
	}
	return deploy.Result{Done: true, Detail: "parameter written"}, nil
}

// noWorkflow refuses to start a workflow: the preparation stops before prod,
// which the promote function under the RIE starts.
type noWorkflow struct{ t *testing.T }

func (w noWorkflow) StartExecution(context.Context, *sfn.StartExecutionInput, ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	w.t.Error("the preparation started a workflow")
	return nil, fmt.Errorf("no workflow here")
}

// send writes one line to the interpreter.
func (f *flow) send(msg map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stdin == nil {
		f.t.Errorf("a message for the interpreter before it runs: %v", msg)
		return
	}
	js, _ := json.Marshal(msg)
	if _, err := f.stdin.Write(append(js, '\n')); err != nil {
		f.t.Errorf("write to the interpreter: %v", err)
	}
}

// invoke runs one invocation of the named function under its emulator.
func (f *flow) invoke(name string, payload any) []byte {
	f.t.Helper()
	js, err := json.Marshal(payload)
	if err != nil {
		f.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	body, err := f.emus[name].Invoke(ctx, js)
	if err != nil {
		f.t.Fatalf("%s: %v\nlog:\n%s", name, err, f.emus[name].Log())
	}
	return body
}

// ecsEvent delivers prod's ECS deployment state change to promote, as its
// route does.
func (f *flow) ecsEvent(name string) {
	f.t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(localaws.SampleFile(f.t, "ecs-deployment-completed.json"), &ev); err != nil {
		f.t.Fatal(err)
	}
	detail := ev["detail"].(map[string]any)
	detail["eventName"], detail["deploymentId"] = name, flowUpdated
	if name != "SERVICE_DEPLOYMENT_COMPLETED" {
		detail["eventType"] = "ERROR"
	}
	ev["time"] = time.Now().UTC().Format(time.RFC3339)
	f.invoke(route.FunctionPromote, ev)
}

// linkPattern finds the signed links in an approval message.
var linkPattern = regexp.MustCompile(`https://\S+\?\S*sig=\S+`)

// decide opens approver's link for action, from the message sent to them
// alone, as a person does: the confirmation page, then the confirming POST,
// through the approval function's URL.
func (f *flow) decide(approver string, action approval.Action) {
	f.t.Helper()
	var link *url.URL
	for _, m := range f.site.AWS.Invocations("Publish") {
		if m.Form.Get("MessageAttributes.entry.1.Value.StringValue") != approver {
			continue
		}
		for _, raw := range linkPattern.FindAllString(m.Form.Get("Message"), -1) {
			if u, err := url.Parse(raw); err == nil && u.Query().Get("approver") == approver && u.Query().Get("action") == string(action) {
				link = u
			}
		}
	}
	if link == nil {
		f.t.Fatalf("no %s link was sent to %s", action, approver)
	}
	for _, method := range []string{"GET", "POST"} {
		var ev events.LambdaFunctionURLRequest
		ev.RawPath, ev.RawQueryString = link.Path, link.RawQuery
		ev.RequestContext.HTTP.Method = method
		ev.RequestContext.HTTP.SourceIP = "198.51.100.7"
		ev.RequestContext.TimeEpoch = time.Now().UnixMilli()
		if method == "POST" {
			ev.Headers = map[string]string{"content-type": "application/x-www-form-urlencoded"}
			if action == approval.ActionReject {
				ev.Body = url.Values{"reason": {"the error budget of checkout is spent"}}.Encode()
			}
		}
		var resp events.LambdaFunctionURLResponse
		if body := f.invoke(FunctionApproval, ev); json.Unmarshal(body, &resp) != nil || resp.StatusCode != 200 {
			f.t.Fatalf("%s %s's %s link: %s", method, approver, action, body)
		}
	}
}

// flowEvent is one line of the interpreter.
type flowEvent struct {
	Type, State, Token, Error, Cause string
	Seq                              int
	Output                           json.RawMessage
}

// run starts the execution as promote does, on its tick, and runs it to its
// end with the interpreter, then checks it and the ledger.
func (f *flow) run(t *testing.T, node, runner string, sc flowScenario) {
	ctx := context.Background()
	tick := map[string]any{"version": "0", "id": "tick-1", "detail-type": "Scheduled Event", "source": "aws.events",
		"account": f.site.Policy.Hub.Account, "region": f.site.Policy.Hub.Region, "time": time.Now().UTC().Format(time.RFC3339),
		"resources": []string{}, "detail": map[string]any{}}
	f.invoke(route.FunctionPromote, tick)
	starts := f.site.AWS.Invocations("StartExecution")
	if len(starts) != 1 {
		t.Fatalf("promote's tick made %d StartExecution calls, want 1\nlog:\n%s", len(starts), f.emus[route.FunctionPromote].Log())
	}
	var start struct{ StateMachineArn, Name, Input string }
	if err := starts[0].DecodeJSON(&start); err != nil {
		t.Fatal(err)
	}
	var input map[string]any
	if err := json.Unmarshal([]byte(start.Input), &input); err != nil {
		t.Fatalf("StartExecution's input %q: %v", start.Input, err)
	}
	if sc.timeoutSeconds > 0 {
		input["timeoutSeconds"], input["heartbeatSeconds"] = sc.timeoutSeconds, sc.timeoutSeconds
	}
	functions := map[string]string{}
	for arn, name := range f.machine.functions {
		for _, fn := range promotionFunctions {
			if name == FunctionName(f.site.Policy.Hub, fn) {
				functions[arn] = f.emus[fn].URL()
			}
		}
	}
	retries := map[string]int{}
	for name, s := range f.machine.definition["States"].(map[string]any) {
		if _, ok := s.(map[string]any)["Retry"]; ok {
			retries[name] = 0 // the retriers' intervals are not what is tested
		}
	}
	token := "AQCEAAAAKgAAAAMAAAAAAAAAA" + strings.Repeat("x", 40)
	spec := map[string]any{
		"definition": f.machine.definition,
		"input":      input,
		"context": map[string]any{
			"Execution":    map[string]any{"Id": strings.Replace(start.StateMachineArn, ":stateMachine:", ":execution:", 1) + ":" + start.Name, "Name": start.Name, "Input": input},
			"StateMachine": map[string]any{"Id": start.StateMachineArn},
			"Task":         map[string]any{"Token": token},
		},
		"functions":              functions,
		"waitTimeOverrides":      map[string]int{promotion.StateWaitForDeployment: 0},
		"retryIntervalOverrides": retries,
	}
	specFile := filepath.Join(t.TempDir(), "spec.json")
	js, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(specFile, js, 0o600); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(node, runner, specFile)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.stdin = stdin
	f.mu.Unlock()
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()

	var (
		path, printed []string
		retried       = map[string]int{}
		invocations   = map[string]int{}
		end           flowEvent
		caught        string
	)
	lines := bufio.NewScanner(stdout)
	lines.Buffer(make([]byte, 1<<20), 1<<20)
	for lines.Scan() {
		var ev flowEvent
		if err := json.Unmarshal(lines.Bytes(), &ev); err != nil {
			t.Fatalf("interpreter: %q: %v", lines.Text(), err)
		}
		switch ev.Type {
		case "TaskScheduled":
			invocations[ev.State]++
			fail := ""
			if sc.step != nil {
				fail = sc.step(f, ev.State, invocations[ev.State])
			}
			msg := map[string]any{"go": ev.Seq}
			if fail != "" {
				msg["lambdaError"] = fail
			}
			f.send(msg)
			continue
		case "TaskWaiting":
			if ev.Token != token {
				t.Errorf("the approval task waits on %q, want the context object's token", ev.Token)
			}
			if sc.waiting == nil {
				t.Fatal("the execution waits for approval, which this scenario does not give")
			}
			sc.waiting(f)
			continue
		case "StateEntered":
			path = append(path, ev.State)
		case "StateRetried":
			retried[ev.State]++
		case "ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimeout":
			end = ev
		}
		line := ev.Type
		if ev.State != "" {
			line += " " + ev.State
		}
		if ev.Error != "" {
			line += " " + ev.Error
			if ev.Type == "StateFailed" {
				line += ": " + clip(ev.Cause, 160)
			}
		}
		printed = append(printed, line)
	}
	if err := cmd.Wait(); err != nil || end.Type == "" {
		t.Fatalf("interpreter: %v, ended %q\n%s", err, end.Type, stderr.String())
	}
	t.Logf("aws-local-stepfunctions ran %s:\n  %s", start.Name, strings.Join(printed, "\n  "))

	if !slices.Equal(path, sc.wantPath) {
		t.Errorf("states entered:\n  %v\nwant\n  %v", path, sc.wantPath)
	}
	for state, n := range retried {
		if sc.wantRetried[state] != n {
			t.Errorf("%s retried %d times, want %d", state, n, sc.wantRetried[state])
		}
	}
	for state, n := range sc.wantRetried {
		if retried[state] != n {
			t.Errorf("%s retried %d times, want %d", state, retried[state], n)
		}
	}
	if sc.wantError != "" {
		if end.Type != "ExecutionFailed" || end.Error != sc.wantError {
			t.Errorf("execution ended %s %s (%s), want failed with %s", end.Type, end.Error, end.Cause, sc.wantError)
		}
	} else {
		var out struct {
			PromotionID string `json:"promotionId"`
			Error       struct{ Error, Cause string }
		}
		if end.Type != "ExecutionSucceeded" || json.Unmarshal(end.Output, &out) != nil {
			t.Fatalf("execution ended %s %s (%s), want succeeded", end.Type, end.Error, end.Cause)
		}
		caught = out.Error.Error
		if out.PromotionID != input["promotionId"] {
			t.Errorf("output %s lost the promotion id %v", end.Output, input["promotionId"])
		}
	}
	if sc.wantError == "" && caught != sc.wantCaught {
		t.Errorf("the execution caught %q, want %q", caught, sc.wantCaught)
	}

	// The ledger afterwards.
	l := ledger.NewDynamo(localaws.DynamoDB(t), f.site.Table)
	app, prod := prodOf(t, f.site.Policy)
	now := time.Now()
	promos, err := l.Promotions(ctx, app.Name, prod.Name, now.Add(-24*time.Hour), now.Add(time.Hour))
	if err != nil || len(promos) != 1 || promos[0].ID != input["promotionId"] || promos[0].Status != sc.wantStatus {
		t.Errorf("prod promotions = %s, %v; want %v %s", describePromotions(promos), err, input["promotionId"], sc.wantStatus)
	}
	deps, err := l.Deployments(ctx, app.Name, prod.Name, now.Add(-24*time.Hour), now.Add(time.Hour))
	switch {
	case err != nil:
		t.Error(err)
	case sc.wantDeployment == "" && len(deps) != 0:
		t.Errorf("prod deployments = %d, want none", len(deps))
	case sc.wantDeployment != "" && (len(deps) != 1 || deps[0].Status != sc.wantDeployment || deps[0].Digest != flowDigest):
		t.Errorf("prod deployments = %+v, want one %s of the digest", deps, sc.wantDeployment)
	}
	recs, err := l.ByDigest(ctx, flowDigest)
	if err != nil {
		t.Fatal(err)
	}
	var requests []ledger.ApprovalStatus
	quarantined := false
	for _, r := range recs {
		switch r := r.(type) {
		case *ledger.ApprovalRequest:
			requests = append(requests, r.Status)
		case *ledger.Artifact:
			quarantined = r.Quarantined
		}
	}
	if want := []ledger.ApprovalStatus{sc.wantRequest}; sc.wantRequest == "" && len(requests) != 0 || sc.wantRequest != "" && !slices.Equal(requests, want) {
		t.Errorf("approval requests = %v, want %v", requests, sc.wantRequest)
	}
	if quarantined != sc.wantQuarantined {
		t.Errorf("artifact quarantined = %v, want %v", quarantined, sc.wantQuarantined)
	}
	if n := len(f.site.AWS.Invocations("UpdateService")); sc.wantDeployment == "" && n != 0 {
		t.Errorf("UpdateService calls = %d, want none", n)
	}
}

// clip is s, cut to n bytes with a mark when longer.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// describePromotions lists promotions' ids and statuses.
func describePromotions(ps []*ledger.Promotion) string {
	var out []string
	for _, p := range ps {
		out = append(out, p.ID+" "+string(p.Status))
	}
	return "[" + strings.Join(out, ", ") + "]"
}
