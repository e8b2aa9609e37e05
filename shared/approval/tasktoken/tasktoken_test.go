package tasktoken_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/highwayhq/highway/shared/approval"
	"github.com/highwayhq/highway/shared/approval/tasktoken"
	"github.com/highwayhq/highway/shared/awsfake"
)

const token = "AQCEAAAAKgAAAAMAAAAAAAAAAZt0kEn"

func TestSenderSendsWhatItIsGiven(t *testing.T) {
	srv := awsfake.New(t)
	srv.On("SendTaskSuccess", awsfake.JSON(200, `{}`))
	srv.On("SendTaskFailure", awsfake.JSON(200, `{}`))
	s := tasktoken.Sender{API: sfn.NewFromConfig(srv.Config())}
	ctx := context.Background()
	if err := s.Succeed(ctx, token, `{"approvedBy":["ana@example.com"]}`); err != nil {
		t.Fatal(err)
	}
	if err := s.Fail(ctx, token, "Rejected", "error budget spent"); err != nil {
		t.Fatal(err)
	}
	var ok struct{ TaskToken, Output string }
	if err := srv.Invocations("SendTaskSuccess")[0].DecodeJSON(&ok); err != nil || ok.TaskToken != token || ok.Output != `{"approvedBy":["ana@example.com"]}` {
		t.Errorf("SendTaskSuccess = %+v, %v; want the token and output", ok, err)
	}
	var failed struct{ TaskToken, Error, Cause string }
	if err := srv.Invocations("SendTaskFailure")[0].DecodeJSON(&failed); err != nil ||
		failed != (struct{ TaskToken, Error, Cause string }{token, "Rejected", "error budget spent"}) {
		t.Errorf("SendTaskFailure = %+v, %v; want the token, Rejected and the cause", failed, err)
	}
}

func TestSenderSaysWhenTheTaskIsGone(t *testing.T) {
	tests := []struct {
		name     string
		give     awsfake.Response
		wantErr  bool
		wantGone bool
	}{
		{name: "completed", give: awsfake.JSON(200, `{}`)},
		{name: "timed out", give: awsfake.APIError(400, "TaskTimedOut", "Task Timed Out"), wantErr: true, wantGone: true},
		{name: "invalid token", give: awsfake.APIError(400, "InvalidToken", "Invalid Token"), wantErr: true, wantGone: true},
		{name: "no such task", give: awsfake.APIError(400, "TaskDoesNotExist", "Task does not exist"), wantErr: true, wantGone: true},
		{name: "access denied", give: awsfake.APIError(400, "AccessDeniedException", "not authorized"), wantErr: true},
		{name: "service failing", give: awsfake.APIError(500, "InternalFailure", "try later"), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := awsfake.New(t)
			srv.On("SendTaskSuccess", tt.give)
			srv.On("SendTaskFailure", tt.give)
			s := tasktoken.Sender{API: sfn.NewFromConfig(srv.Config())}
			for op, err := range map[string]error{
				"Succeed": s.Succeed(context.Background(), token, `{}`),
				"Fail":    s.Fail(context.Background(), token, "Rejected", "no"),
			} {
				if (err != nil) != tt.wantErr || errors.Is(err, approval.ErrTaskGone) != tt.wantGone {
					t.Errorf("%s() error = %v, want error %v, gone %v", op, err, tt.wantErr, tt.wantGone)
				}
			}
		})
	}
}

func TestExecutionsReadTheStatusOfThePromotionsExecution(t *testing.T) {
	const machine = "arn:aws:states:eu-west-1:111111111111:stateMachine:highway-promotion"
	tests := []struct {
		name    string
		give    awsfake.Response
		want    approval.WorkflowStatus
		wantErr bool
	}{
		{name: "running", give: awsfake.JSON(200, `{"status":"RUNNING"}`), want: approval.WorkflowRunning},
		{name: "timed out", give: awsfake.JSON(200, `{"status":"TIMED_OUT"}`), want: approval.WorkflowTimedOut},
		{name: "no such execution", give: awsfake.APIError(400, "ExecutionDoesNotExist", "no execution"), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := awsfake.New(t)
			srv.On("DescribeExecution", tt.give)
			got, err := tasktoken.Executions{API: sfn.NewFromConfig(srv.Config()), StateMachine: machine}.Status(context.Background(), "prm-1")
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("Status(prm-1) = %q, %v; want %q, error %v", got, err, tt.want, tt.wantErr)
			}
			var in struct{ ExecutionArn string }
			if err := srv.Invocations("DescribeExecution")[0].DecodeJSON(&in); err != nil ||
				in.ExecutionArn != "arn:aws:states:eu-west-1:111111111111:execution:highway-promotion:prm-1" {
				t.Errorf("DescribeExecution(%q, %v), want the execution named by the promotion", in.ExecutionArn, err)
			}
		})
	}
}

func TestExecutionArn(t *testing.T) {
	tests := []struct {
		name, machine, execution string
		want                     string
	}{
		{name: "aws", machine: "arn:aws:states:eu-west-1:111111111111:stateMachine:highway-promotion", execution: "prm-1",
			want: "arn:aws:states:eu-west-1:111111111111:execution:highway-promotion:prm-1"},
		{name: "another partition", machine: "arn:aws-us-gov:states:us-gov-west-1:111111111111:stateMachine:m", execution: "prm-1",
			want: "arn:aws-us-gov:states:us-gov-west-1:111111111111:execution:m:prm-1"},
		{name: "not a state machine", machine: "arn:aws:states:eu-west-1:111111111111:activity:m", execution: "prm-1"},
		{name: "a version", machine: "arn:aws:states:eu-west-1:111111111111:stateMachine:m:1", execution: "prm-1"},
		{name: "no execution", machine: "arn:aws:states:eu-west-1:111111111111:stateMachine:m"},
		{name: "empty", execution: "prm-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tasktoken.ExecutionArn(tt.machine, tt.execution)
			if got != tt.want || (err != nil) != (tt.want == "") {
				t.Errorf("ExecutionArn(%q, %q) = %q, %v; want %q", tt.machine, tt.execution, got, err, tt.want)
			}
		})
	}
}
