package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/highwayhq/highway/shared/approval"
	"github.com/highwayhq/highway/shared/function"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
)

// site is Highway's hub recreated on this machine for one run: a ledger
// table of its own in DynamoDB Local, the wire-level fake answering every
// other AWS service from events/, the policy as the CDK app ships it beside
// each function, and the environment the CDK app gives the functions.
type site struct {
	policy   *policy.Policy
	events   string // the events folder
	table    string
	dynamoDB string // DynamoDB Local's endpoint
	db       *dynamodb.Client
	ledger   ledger.Ledger
	fake     *fake
	dir      string // holds the policy file
	links    string // the approval function's URL, where links point
	webhook  string // the ARN of the webhook's secret
}

// tables tells apart the tables of the sites one process creates.
var tables atomic.Int64

// newSite prepares a site: the policy in policyFile, checked as the CDK app
// checks it, the answers from root's events folder, and a new ledger table
// in the DynamoDB Local at endpoint.
func newSite(ctx context.Context, root, policyFile, endpoint string) (_ *site, err error) {
	p, err := policy.Load(policyFile)
	if err != nil {
		return nil, err
	}
	s := &site{policy: p, events: filepath.Join(root, "events"), dynamoDB: endpoint}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if s.dir, err = os.MkdirTemp("", "highway-invoke-"); err != nil {
		return nil, err
	}
	shipped, err := p.Encode()
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(s.dir, policy.FunctionFileName), shipped, 0o600); err != nil {
		return nil, err
	}
	var post events.LambdaFunctionURLRequest
	if err := readJSON(filepath.Join(s.events, "approval-link-post.json"), &post); err != nil {
		return nil, err
	}
	s.links = "https://" + post.RequestContext.DomainName + "/"
	if s.webhook, err = webhookSecret(s.events); err != nil {
		return nil, err
	}
	if s.fake, err = newFake(root, s.events, p.Hub.Account); err != nil {
		return nil, err
	}
	s.db = dynamodb.NewFromConfig(aws.Config{
		Region:       p.Hub.Region,
		Credentials:  credentials.NewStaticCredentialsProvider("highway", "local", ""),
		BaseEndpoint: aws.String(endpoint),
	})
	s.table = fmt.Sprintf("%s-invoke-%d-%d", p.Hub.Name, time.Now().UnixNano(), tables.Add(1))
	if _, err := s.db.CreateTable(ctx, ledger.CreateTableInput(s.table)); err != nil {
		s.table = ""
		return nil, fmt.Errorf("create the ledger table in DynamoDB Local at %s: %w", endpoint, err)
	}
	waiter := dynamodb.NewTableExistsWaiter(s.db)
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.table)}, 30*time.Second); err != nil {
		return nil, fmt.Errorf("wait for the ledger table: %w", err)
	}
	s.ledger = ledger.NewDynamo(s.db, s.table)
	return s, nil
}

// Close deletes the table and stops the fake.
func (s *site) Close() {
	if s.table != "" {
		_, _ = s.db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(s.table)})
	}
	if s.fake != nil {
		s.fake.Close()
	}
	if s.dir != "" {
		_ = os.RemoveAll(s.dir)
	}
}

// environment is what the CDK app and Lambda set for fn, every variable any
// function reads, pointing at the site: dummy credentials (the function's
// own; its access role's come from the fake STS), the fake for every
// service but DynamoDB, the ledger table, the bus, the topics, the link
// and webhook secrets, the approval URL and state machine, and the drift
// queue.
func (s *site) environment(fn string) []string {
	h := s.policy.Hub
	arn := func(service, resource string) string {
		return "arn:aws:" + service + ":" + h.Region + ":" + h.Account + ":" + resource
	}
	return []string{
		"AWS_REGION=" + h.Region,
		"AWS_DEFAULT_REGION=" + h.Region,
		"AWS_ACCESS_KEY_ID=AKIAINVOKELOCAL", "AWS_SECRET_ACCESS_KEY=local",
		"AWS_ENDPOINT_URL=" + s.fake.srv.URL(),
		"AWS_ENDPOINT_URL_DYNAMODB=" + s.dynamoDB,
		"AWS_LAMBDA_LOG_FORMAT=JSON",
		"AWS_LAMBDA_FUNCTION_NAME=" + h.Name + "-" + fn,
		policy.PolicyFileEnv + "=" + filepath.Join(s.dir, policy.FunctionFileName),
		function.EnvTable + "=" + s.table,
		function.EnvBus + "=" + h.Name,
		function.EnvTopic + "=" + arn("sns", h.Name+"-notifications"),
		function.EnvAccessRole + "=" + h.Name + "-access-" + fn,
		function.EnvApprovalSecret + "=" + arn("secretsmanager", "secret:"+h.Name+"-approval-links"),
		function.EnvApprovalTopic + "=" + arn("sns", h.Name+"-approvals"),
		function.EnvApprovalURL + "=" + s.links,
		function.EnvApprovalStateMachine + "=" + arn("states", "stateMachine:"+h.Name+"-approval"),
		function.EnvDriftQueue + "=https://sqs." + h.Region + ".amazonaws.com/" + h.Account + "/" + h.Name + "-DriftQueue",
		function.EnvWebhookSecret + "=" + s.webhook,
	}
}

// prepare returns payload as the function receives it, and sets on the site
// what the event takes for granted: a CodeBuild build is the one its
// pipeline's execution runs, and the sample approval link post (whose query
// only the deployment's key can sign) approves a waiting request, filed for
// it, with a link signed here.
func (s *site) prepare(ctx context.Context, payload []byte) ([]byte, error) {
	s.fake.sent(payload)
	var post events.LambdaFunctionURLRequest
	if json.Unmarshal(payload, &post) != nil || post.RawQueryString != signedQuery {
		return payload, nil
	}
	query, err := s.waitingApproval(ctx)
	if err != nil {
		return nil, err
	}
	post.RawQueryString = query
	return json.Marshal(post)
}

// signedQuery stands, in events/approval-link-post.json, for the query of a
// link signed with the deployment's key.
const signedQuery = "SIGNED-QUERY"

// approvalID is the request the sample approval link approves.
const approvalID = "apr-invoke"

// waitingApproval files the request events/approval-request.json asks for
// as waiting, and returns the query of its first approver's approve link.
func (s *site) waitingApproval(ctx context.Context) (string, error) {
	var task struct {
		TaskToken   string `json:"taskToken"`
		PromotionID string `json:"promotionId"`
		App         string `json:"app"`
		Env         string `json:"env"`
		Digest      string `json:"digest"`
	}
	if err := readJSON(filepath.Join(s.events, "approval-request.json"), &task); err != nil {
		return "", err
	}
	var rule *policy.Approval
	if app, ok := s.policy.App(task.App); ok {
		if env, ok := app.Environment(task.Env); ok {
			rule = env.Approval
		}
	}
	if rule == nil || len(rule.Approvers) == 0 {
		return "", fmt.Errorf("the policy has no approvers for %s in %s, whom events/approval-request.json asks", task.App, task.Env)
	}
	now := time.Now().UTC()
	req := &ledger.ApprovalRequest{
		Header:      ledger.Header{ID: approvalID, App: task.App, Env: task.Env, Digest: task.Digest, At: now},
		PromotionID: task.PromotionID, TaskToken: task.TaskToken, Approvers: rule.Approvers, Quorum: max(rule.Quorum, 1),
		Expires: now.Add(max(rule.Timeout, time.Hour)), Status: ledger.ApprovalWaiting,
	}
	if err := s.ledger.Put(ctx, req); err != nil && !errors.Is(err, ledger.ErrExists) {
		return "", fmt.Errorf("file the waiting approval request: %w", err)
	}
	signer, err := approval.NewSigner([]byte(linkSecret))
	if err != nil {
		return "", err
	}
	link, err := url.Parse(signer.Link(s.links, approvalID, rule.Approvers[0], approval.ActionApprove, req.Expires))
	if err != nil {
		return "", err
	}
	return link.RawQuery, nil
}

// calls describes the AWS calls the fake answered, one line each: the
// service and operation, what it carried when that says what happened, and
// the access role it was made through.
func (s *site) calls() []string {
	var out []string
	for _, r := range s.fake.srv.Requests() {
		line := service(r.Header.Get("Authorization")) + " " + r.Operation
		if what := carried(r.Body, r.Form.Get("Subject")); what != "" {
			line += ": " + what
		}
		if role := s.fake.roleOf(r); role != "" {
			line += " (as " + role + ")"
		}
		out = append(out, line)
	}
	return out
}

// service is the service a SigV4 Authorization header's scope names.
func service(authorization string) string {
	_, scope, _ := strings.Cut(authorization, "Credential=")
	parts := strings.Split(scope, "/")
	if len(parts) < 4 {
		return "?"
	}
	return parts[3]
}

// carried says what a call carried that a reader wants to see: the detail
// types of the events put on the bus, the subject of a notification.
func carried(body []byte, subject string) string {
	if subject != "" {
		return fmt.Sprintf("%q", subject)
	}
	var put struct{ Entries []struct{ DetailType string } }
	if !bytes.Contains(body, []byte(`"DetailType"`)) || json.Unmarshal(body, &put) != nil {
		return ""
	}
	var types []string
	for _, e := range put.Entries {
		types = append(types, e.DetailType)
	}
	return strings.Join(types, ", ")
}
