package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	artypes "github.com/aws/aws-sdk-go-v2/service/apprunner/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	cbtypes "github.com/aws/aws-sdk-go-v2/service/codebuild/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/deploy"
	"github.com/highwayhq/highway/shared/drift"
	"github.com/highwayhq/highway/shared/evidence"
	"github.com/highwayhq/highway/shared/kube"
	"github.com/highwayhq/highway/shared/kube/kubefake"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/route"
	"github.com/highwayhq/highway/shared/runtimecheck"
)

// The demo's stand-ins for what drift detection reads: CloudFormation,
// CodeBuild and the artifacts of Terraform workspaces, the drift queue, and
// what the environments run.

// stackSamples are CloudFormation's answers in the demo, read from events/:
// the stacks of the account that has them, and the drifted resources of a
// detection; and for Terraform workspaces, the build the sample build event
// finishes, with the artifacts it reads the plan from.
type stackSamples struct {
	account        string // the account whose stacks DescribeStacks lists
	stacks, drifts string // query-protocol XML answers
	build          string // the build id of codebuild-terraform-drift.json
	artifacts      artifacts
}

// loadStackSamples reads the CloudFormation answers; the account with stacks
// is the one of the sample completion event.
func loadStackSamples(dir string) (stackSamples, error) {
	var s stackSamples
	for _, f := range []struct {
		name string
		to   *string
	}{
		{"cloudformation-describestacks.xml", &s.stacks},
		{"cloudformation-describestackresourcedrifts.xml", &s.drifts},
	} {
		b, err := os.ReadFile(filepath.Join(dir, f.name))
		if err != nil {
			return s, err
		}
		*f.to = string(b)
	}
	b, err := os.ReadFile(filepath.Join(dir, "cloudformation-drift-detection.json"))
	if err != nil {
		return s, err
	}
	var ev events.CloudWatchEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		return s, fmt.Errorf("cloudformation-drift-detection.json: %w", err)
	}
	s.account = ev.AccountID
	b, err = os.ReadFile(filepath.Join(dir, "codebuild-terraform-drift.json"))
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &ev); err != nil {
		return s, fmt.Errorf("codebuild-terraform-drift.json: %w", err)
	}
	be, err := evidence.DecodeBuildEvent(ev)
	if err != nil {
		return s, fmt.Errorf("codebuild-terraform-drift.json: %w", err)
	}
	s.build, s.artifacts = be.Build.ID, artifacts{dir: filepath.Join(dir, "artifacts")}
	return s, nil
}

// terraformBuilds stands in for CodeBuild as the drift function uses it: it
// starts the sample build of any workspace's project, printing the call, and
// its calls pass through c.
type terraformBuilds struct {
	c     awsCalls
	out   io.Writer
	build string
}

// StartBuild starts the sample build.
func (b terraformBuilds) StartBuild(_ context.Context, in *codebuild.StartBuildInput, _ ...func(*codebuild.Options)) (*codebuild.StartBuildOutput, error) {
	project := aws.ToString(in.ProjectName)
	return through(b.c, "codebuild:StartBuild", project, func() (*codebuild.StartBuildOutput, error) {
		fmt.Fprintf(b.out, "  codebuild:StartBuild ProjectName=%s → build %s\n", project, b.build)
		return &codebuild.StartBuildOutput{Build: &cbtypes.Build{Id: aws.String(b.build), ProjectName: in.ProjectName, BuildStatus: cbtypes.StatusTypeInProgress}}, nil
	})
}

// BatchGetBuilds finds the builds still running: the scenario delivers
// their events.
func (b terraformBuilds) BatchGetBuilds(_ context.Context, in *codebuild.BatchGetBuildsInput, _ ...func(*codebuild.Options)) (*codebuild.BatchGetBuildsOutput, error) {
	return through(b.c, "codebuild:BatchGetBuilds", "", func() (*codebuild.BatchGetBuildsOutput, error) {
		out := &codebuild.BatchGetBuildsOutput{}
		for _, id := range in.Ids {
			out.Builds = append(out.Builds, cbtypes.Build{Id: aws.String(id), BuildStatus: cbtypes.StatusTypeInProgress})
		}
		return out, nil
	})
}

// cloudFormation is a local CloudFormation endpoint, on loopback, answering
// with the samples: the real SDK client reads real-shaped XML. Clients of
// each account sign with the account id as access key, which is how the
// endpoint tells accounts apart. A detection started is printed.
type cloudFormation struct {
	srv  *awsfake.Server
	wire http.RoundTripper // the clients' transport; nil: the SDK's
}

// detectionID is the id of every detection the local CloudFormation starts:
// the sample completion event's, so that the event completes it.
const detectionID = "b78ac9b0-c44f-11f0-94c2-0a3f1e2b8c41"

const emptyStacks = `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks/></DescribeStacksResult><ResponseMetadata><RequestId>0</RequestId></ResponseMetadata></DescribeStacksResponse>`

func newCloudFormation(out io.Writer, s stackSamples) *cloudFormation {
	srv := awsfake.Start()
	srv.OnFunc("DescribeStacks", func(r awsfake.Request) awsfake.Response {
		if strings.Contains(r.Header.Get("Authorization"), "Credential="+s.account+"/") {
			return awsfake.XML(200, s.stacks)
		}
		return awsfake.XML(200, emptyStacks)
	})
	srv.OnFunc("DetectStackDrift", func(r awsfake.Request) awsfake.Response {
		fmt.Fprintf(out, "  cloudformation:DetectStackDrift StackName=%s → detection %s\n", r.Form.Get("StackName"), detectionID)
		return awsfake.XML(200, `<DetectStackDriftResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DetectStackDriftResult><StackDriftDetectionId>`+
			detectionID+`</StackDriftDetectionId></DetectStackDriftResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></DetectStackDriftResponse>`)
	})
	srv.On("DescribeStackResourceDrifts", awsfake.XML(200, s.drifts))
	return &cloudFormation{srv: srv}
}

// clients returns the CloudFormation clients of account. With wire set,
// their requests pass through it, and a failed one is not retried.
func (c *cloudFormation) clients(account, region string) drift.Clients {
	cfg := c.srv.Config()
	cfg.Region = region
	cfg.Credentials = credentials.NewStaticCredentialsProvider(account, "local", "")
	if c.wire != nil {
		cfg.HTTPClient = &http.Client{Transport: c.wire}
		cfg.RetryMaxAttempts = 1
	}
	cl := cloudformation.NewFromConfig(cfg)
	return drift.Clients{Stacks: cl, Detections: cl, Drifts: cl}
}

// driftQueue stands in for the drift queue: what the sweep sends waits here
// until the scene hands it to the drift function as one batch.
type driftQueue struct {
	mu     sync.Mutex
	bodies []string
}

// SendMessageBatch keeps the messages.
func (q *driftQueue) SendMessageBatch(_ context.Context, in *sqs.SendMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := &sqs.SendMessageBatchOutput{}
	for _, e := range in.Entries {
		q.bodies = append(q.bodies, aws.ToString(e.MessageBody))
		out.Successful = append(out.Successful, sqstypes.SendMessageBatchResultEntry{Id: e.Id, MessageId: e.Id})
	}
	return out, nil
}

// batch takes the waiting messages as the SQS event Lambda would deliver.
func (q *driftQueue) batch() events.SQSEvent {
	q.mu.Lock()
	defer q.mu.Unlock()
	var ev events.SQSEvent
	for i, b := range q.bodies {
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: fmt.Sprintf("local-drift-%d", i+1), Body: b, EventSource: "aws:sqs"})
	}
	q.bodies = nil
	return ev
}

// environments stands in for what the environments run. The demo's
// deployers print their calls instead of making them, so each deployment
// they report done is recorded here as if it had been made; a scene may then
// change an environment by hand. It answers the runtime check's SSM, ECS and
// App Runner reads, and serves the EKS environments' Deployments from a
// Kubernetes API fake on loopback per cluster, which the check reads as it
// reads a cluster.
type environments struct {
	mu      sync.Mutex
	images  map[string]string // app/env → image reference running there
	targets map[string]string // SSM parameter, ECS cluster/service or App Runner service → app/env
	// containers names the app's container of each ECS cluster/service.
	containers map[string]string
	// eks is the Deployment each EKS environment runs in, by app/env; each
	// cluster the policy names is a fake of its own.
	eks      map[string]*policy.EKSDeploy
	clusters map[string]*kubefake.Server
}

// newEnvironments knows the SSM parameters, ECS and App Runner services and
// EKS Deployments of p's environments; none runs anything yet.
func newEnvironments(p *policy.Policy) *environments {
	e := &environments{images: map[string]string{}, targets: map[string]string{}, containers: map[string]string{},
		eks: map[string]*policy.EKSDeploy{}, clusters: map[string]*kubefake.Server{}}
	for _, a := range p.Apps {
		for _, env := range a.Environments {
			at := a.Name + "/" + env.Name
			switch d := env.Deploy; {
			case d == nil:
			case d.SSM != nil:
				e.targets["ssm:"+d.SSM.Parameter] = at
			case d.ECS != nil:
				e.targets["ecs:"+d.ECS.Cluster+"/"+d.ECS.Service] = at
				e.containers[d.ECS.Cluster+"/"+d.ECS.Service] = d.ECS.Container
			case d.AppRunner != nil:
				e.targets["apprunner:"+d.AppRunner.Service] = at
			case d.EKSTarget() != nil:
				e.eks[at] = d.EKSTarget()
				if e.clusters[d.EKSTarget().Cluster] == nil {
					e.clusters[d.EKSTarget().Cluster] = kubefake.Start()
				}
			}
		}
	}
	return e
}

// close stops the clusters.
func (e *environments) close() {
	for _, c := range e.clusters {
		c.Close()
	}
}

// set makes app/env run image; an EKS environment's Deployment is rolled
// out to it.
func (e *environments) set(app, env, image string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.images[app+"/"+env] = image
	spec := e.eks[app+"/"+env]
	if spec == nil {
		return
	}
	cluster := e.clusters[spec.Cluster]
	generation := int64(1)
	if d := cluster.Get(spec.Namespace, spec.Deployment); d != nil {
		generation = d.Generation + 1
	}
	cluster.Put(kubefake.RolledOut(spec.Namespace, spec.Deployment, spec.Container, image, 3, generation))
}

func (e *environments) running(target string) (string, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	img, ok := e.images[e.targets[target]]
	return img, ok
}

// recorded wraps a deployer so that what it deploys is what runs; a
// deployment promotion follows runs once its start is recorded.
func (e *environments) recorded(d deploy.Deployer) deploy.Deployer {
	deployed := deployerFunc(func(ctx context.Context, t deploy.Target) (deploy.Result, error) {
		res, err := d.Deploy(ctx, t)
		if err == nil && t.Artifact != nil {
			e.set(t.App, t.Env, t.Artifact.Repository+"@"+t.Artifact.Digest)
		}
		return res, err
	})
	if f, ok := d.(deploy.Follower); ok {
		return recordedFollower{deployed, f}
	}
	return deployed
}

type deployerFunc func(context.Context, deploy.Target) (deploy.Result, error)

func (f deployerFunc) Deploy(ctx context.Context, t deploy.Target) (deploy.Result, error) {
	return f(ctx, t)
}

// recordedFollower is a recorded deployer promotion follows.
type recordedFollower struct {
	deployerFunc
	deploy.Follower
}

func (r recordedFollower) Deploy(ctx context.Context, t deploy.Target) (deploy.Result, error) {
	return r.deployerFunc(ctx, t)
}

// clientsVia are the runtime check's clients, their calls through c.
func (e *environments) clientsVia(c awsCalls) func(string, string, string) runtimecheck.Clients {
	return func(string, string, string) runtimecheck.Clients {
		cl := runtimecheck.Clients{SSM: ssmVia{c, environmentsSSM{e}}, ECS: ecsVia{c, environmentsECS{e}}, AppRunner: appRunnerVia{c, environmentsAppRunner{e}}}
		cl.Kube = func(ctx context.Context, name string) (*kube.Cluster, error) {
			return through(c, "eks:DescribeCluster", "", func() (*kube.Cluster, error) {
				fake, ok := e.clusters[name]
				if !ok {
					return nil, &ekstypes.ResourceNotFoundException{Message: aws.String("No cluster found for name: " + name)}
				}
				return kube.New(fake.Config("k8s-aws-v1.demo"))
			})
		}
		return cl
	}
}

// environmentsAppRunner answers App Runner's reads of a service by its name
// or ARN, in App Runner's shapes.
type environmentsAppRunner struct{ e *environments }

// arn is the demo's ARN of the App Runner service name.
func (environmentsAppRunner) arn(name string) string {
	return "arn:aws:apprunner:eu-west-1:000000000000:service/" + name + "/0123456789abcdef0123456789abcdef"
}

func (s environmentsAppRunner) ListServices(context.Context, *apprunner.ListServicesInput, ...func(*apprunner.Options)) (*apprunner.ListServicesOutput, error) {
	s.e.mu.Lock()
	defer s.e.mu.Unlock()
	var out apprunner.ListServicesOutput
	for target := range s.e.targets {
		if name, ok := strings.CutPrefix(target, "apprunner:"); ok && !strings.HasPrefix(name, "arn:") {
			out.ServiceSummaryList = append(out.ServiceSummaryList, artypes.ServiceSummary{ServiceName: aws.String(name), ServiceArn: aws.String(s.arn(name)), Status: artypes.ServiceStatusRunning})
		}
	}
	return &out, nil
}

func (s environmentsAppRunner) DescribeService(_ context.Context, in *apprunner.DescribeServiceInput, _ ...func(*apprunner.Options)) (*apprunner.DescribeServiceOutput, error) {
	arn := aws.ToString(in.ServiceArn)
	name := strings.Split(arn, "/")[1]
	img, ok := s.e.running("apprunner:" + name)
	if !ok {
		if img, ok = s.e.running("apprunner:" + arn); !ok {
			return nil, &artypes.ResourceNotFoundException{Message: aws.String("service " + arn)}
		}
	}
	return &apprunner.DescribeServiceOutput{Service: &artypes.Service{
		ServiceArn: aws.String(arn), ServiceName: aws.String(name), Status: artypes.ServiceStatusRunning,
		SourceConfiguration: &artypes.SourceConfiguration{ImageRepository: &artypes.ImageRepository{
			ImageIdentifier: aws.String(img), ImageRepositoryType: artypes.ImageRepositoryTypeEcr,
		}},
	}}, nil
}

var errNotInTheDemo = errors.New("the demo's App Runner answers reads only")

func (environmentsAppRunner) UpdateService(context.Context, *apprunner.UpdateServiceInput, ...func(*apprunner.Options)) (*apprunner.UpdateServiceOutput, error) {
	return nil, errNotInTheDemo
}

func (environmentsAppRunner) ListOperations(context.Context, *apprunner.ListOperationsInput, ...func(*apprunner.Options)) (*apprunner.ListOperationsOutput, error) {
	return nil, errNotInTheDemo
}

func (environmentsAppRunner) StartDeployment(context.Context, *apprunner.StartDeploymentInput, ...func(*apprunner.Options)) (*apprunner.StartDeploymentOutput, error) {
	return nil, errNotInTheDemo
}

func (environmentsAppRunner) PauseService(context.Context, *apprunner.PauseServiceInput, ...func(*apprunner.Options)) (*apprunner.PauseServiceOutput, error) {
	return nil, errNotInTheDemo
}

func (environmentsAppRunner) ResumeService(context.Context, *apprunner.ResumeServiceInput, ...func(*apprunner.Options)) (*apprunner.ResumeServiceOutput, error) {
	return nil, errNotInTheDemo
}

type environmentsSSM struct{ e *environments }

func (s environmentsSSM) GetParameter(_ context.Context, in *ssm.GetParameterInput, _ ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	name := aws.ToString(in.Name)
	img, ok := s.e.running("ssm:" + name)
	if !ok {
		return nil, &ssmtypes.ParameterNotFound{Message: aws.String(name)}
	}
	return &ssm.GetParameterOutput{Parameter: &ssmtypes.Parameter{Name: in.Name, Value: aws.String(img), Type: ssmtypes.ParameterTypeString}}, nil
}

type environmentsECS struct{ e *environments }

func (s environmentsECS) DescribeServices(_ context.Context, in *ecs.DescribeServicesInput, _ ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	target := aws.ToString(in.Cluster) + "/" + strings.Join(in.Services, ",")
	if _, ok := s.e.running("ecs:" + target); !ok {
		return &ecs.DescribeServicesOutput{Failures: []ecstypes.Failure{{Reason: aws.String("MISSING")}}}, nil
	}
	return &ecs.DescribeServicesOutput{Services: []ecstypes.Service{{
		ServiceName: aws.String(in.Services[0]), Status: aws.String("ACTIVE"),
		Deployments: []ecstypes.Deployment{{Status: aws.String("PRIMARY"), TaskDefinition: aws.String(target)}},
	}}}, nil
}

func (s environmentsECS) DescribeTaskDefinition(_ context.Context, in *ecs.DescribeTaskDefinitionInput, _ ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error) {
	target := aws.ToString(in.TaskDefinition)
	img, _ := s.e.running("ecs:" + target)
	s.e.mu.Lock()
	container := s.e.containers[target]
	s.e.mu.Unlock()
	return &ecs.DescribeTaskDefinitionOutput{TaskDefinition: &ecstypes.TaskDefinition{
		TaskDefinitionArn:    aws.String("arn:aws:ecs:local:000000000000:task-definition/" + strings.ReplaceAll(target, "/", "-") + ":1"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String(container), Image: aws.String(img)}},
	}}, nil
}

// newDriftHandler wires the drift function to the stand-ins.
func (rt *local) newDriftHandler(p *policy.Policy, s stackSamples) (*drift.Handler, error) {
	rt.cloudFormation = newCloudFormation(rt.out, s)
	if rt.wire != nil {
		rt.cloudFormation.wire = transportVia{c: rt.aws, base: rt.wire, service: "cloudformation",
			mutating: map[string]string{"DetectStackDrift": "StackName"}}
	}
	rt.driftQueue = &driftQueue{}
	return drift.New(drift.Config{
		Policy: p, Clients: rt.cloudFormation.clients, Runtime: rt.environments.clientsVia(rt.aws),
		Ledger: rt.ledger, Queue: queueVia{rt.aws, rt.driftQueue}, QueueURL: "local:drift-queue",
		Bus: rt, Notify: topicVia{rt.aws, topic{rt.out}}, Topic: localTopic, Metrics: rt.metrics,
		Limits: drift.NewLimits(100, 0, drift.Backoff{}),
		// One message at a time: the demo prints its calls in the batch's order.
		Parallel: 1,
		Now:      func() time.Time { return rt.clock },
		Builds: func(string, string) drift.BuildClients {
			return drift.BuildClients{Builds: terraformBuilds{c: rt.aws, out: rt.out, build: s.build}, Artifacts: objectsVia{rt.aws, s.artifacts}}
		},
	})
}

// driftRound runs the drift schedule's round at the scenario's time, then
// hands the drift queue's batch to the function, as Lambda's event source
// would.
func (rt *local) driftRound(ctx context.Context) error {
	ev, err := json.Marshal(events.CloudWatchEvent{Version: "0", ID: fmt.Sprintf("drift-%d", rt.clock.Unix()), Source: "aws.events",
		DetailType: "Scheduled Event", AccountID: "000000000000", Region: "local", Time: rt.clock, Detail: json.RawMessage(`{}`)})
	if err != nil {
		return err
	}
	if err := rt.call(ctx, route.FunctionDrift, ev); err != nil {
		return err
	}
	// The queue hands the batch over; the messages the function reports
	// failed come back, as SQS makes them visible again, until none is left.
	pending := rt.driftQueue.batch()
	for attempt := 1; len(pending.Records) > 0; attempt++ {
		batch, err := json.Marshal(pending)
		if err != nil {
			return err
		}
		res, err := rt.invoke(ctx, route.FunctionDrift, batch)
		if err != nil {
			return err
		}
		failed := map[string]bool{}
		if r, ok := res.(events.SQSEventResponse); ok {
			for _, f := range r.BatchItemFailures {
				failed[f.ItemIdentifier] = true
			}
		}
		var again events.SQSEvent
		for _, m := range pending.Records {
			if failed[m.MessageId] {
				again.Records = append(again.Records, m)
			}
		}
		if len(again.Records) > 0 && attempt >= max(rt.delivery.attempts, 1) {
			return fmt.Errorf("drift: %d detections still failed after %d receives", len(again.Records), attempt)
		}
		pending = again
	}
	if err := rt.drain(ctx); err != nil {
		return err
	}
	return rt.printRuntime(ctx)
}

// printRuntime prints the runtime reports of the round just run: what each
// environment Highway deploys to was found running.
func (rt *local) printRuntime(ctx context.Context) error {
	reports, err := rt.ledger.CurrentDriftReports(ctx)
	if err != nil {
		return err
	}
	for _, r := range reports {
		if r.Target != "" && r.At.Equal(rt.clock) {
			fmt.Fprintf(rt.out, "  runtime %-18s %-16s %s\n", r.App+"/"+r.Env, r.Status, r.Target)
		}
	}
	return nil
}
