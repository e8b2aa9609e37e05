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
	if err := srv.Calls("SendTaskSuccess")[0].DecodeJSON(&ok); err != nil || ok.TaskToken != token || ok.Output != `{"approvedBy":["ana@example.com"]}` {
		t.Errorf("SendTaskSuccess = %+v, %v; want the token and output", ok, err)
	}
	var failed struct{ TaskToken, Error, Cause string }
	if err := srv.Calls("SendTaskFailure")[0].DecodeJSON(&failed); err != nil ||
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
