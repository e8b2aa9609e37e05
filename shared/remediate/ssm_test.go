package remediate_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/remediate"
)

const executionID = "4105a4fc-f944-11e6-9d32-0a1b2c3d495e"

// cpuAlarm is a metric alarm on one EC2 instance.
var cpuAlarm = remediate.Alarm{
	Name:       "checkout-prod-cpu",
	ARN:        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-prod-cpu",
	Account:    "123456789012",
	Region:     "us-east-1",
	State:      "ALARM",
	Reason:     "Threshold Crossed: 3 datapoints were greater than the threshold (90.0).",
	Namespace:  "AWS/EC2",
	Metric:     "CPUUtilization",
	Dimensions: map[string]string{"InstanceId": "i-0a1b2c3d4e5f60718"},
}

func TestSSMAutomationRendersParametersFromTheAlarm(t *testing.T) {
	srv := server(t)
	srv.On("StartAutomationExecution", awsfake.JSON(200, `{"AutomationExecutionId":"`+executionID+`"}`))
	a := policy.SSMAutomationAction{
		Document: "AWS-RestartEC2Instance",
		Parameters: map[string][]string{
			"InstanceId":           {"{{.Dimensions.InstanceId}}"},
			"AutomationAssumeRole": {"arn:aws:iam::{{.Account}}:role/highway-remediation"},
			"Comment":              {"{{.AlarmName}} in {{.Region}}", "{{.Namespace}}/{{.Metric}} {{.State}}"},
		},
	}

	got, err := remediate.SSMAutomation(context.Background(), ssm.NewFromConfig(srv.Config()), a, cpuAlarm)
	if err != nil {
		t.Fatalf("SSMAutomation: %v", err)
	}

	want := map[string]any{
		"DocumentName": "AWS-RestartEC2Instance",
		"Parameters": map[string]any{
			"InstanceId":           []any{"i-0a1b2c3d4e5f60718"},
			"AutomationAssumeRole": []any{"arn:aws:iam::123456789012:role/highway-remediation"},
			"Comment":              []any{"checkout-prod-cpu in us-east-1", "AWS/EC2/CPUUtilization ALARM"},
		},
	}
	if in := body(t, srv, "StartAutomationExecution"); !reflect.DeepEqual(in, want) {
		t.Errorf("StartAutomationExecution(%v), want %v", in, want)
	}
	wantOut := remediate.Outcome{
		Detail: "ssm automation AWS-RestartEC2Instance: execution " + executionID + " started",
		Handle: executionID,
	}
	if got != wantOut {
		t.Errorf("SSMAutomation = %+v, want %+v", got, wantOut)
	}
}

func TestSSMAutomationTemplateErrorIsRefusedWithoutCall(t *testing.T) {
	tests := []struct {
		name string
		give string
		want string // in the error
	}{
		{"missing dimension", "{{.Dimensions.AutoScalingGroupName}}", "AutoScalingGroupName"},
		{"unknown field", "{{.Instance}}", "Instance"},
		{"does not parse", "{{.Dimensions.InstanceId", "unclosed action"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := server(t)
			a := policy.SSMAutomationAction{
				Document:   "AWS-RestartEC2Instance",
				Parameters: map[string][]string{"InstanceId": {"{{.Dimensions.InstanceId}}"}, "Target": {tt.give}},
			}

			_, err := remediate.SSMAutomation(context.Background(), ssm.NewFromConfig(srv.Config()), a, cpuAlarm)

			if !errors.Is(err, remediate.ErrRefused) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("SSMAutomation(%q) error = %v, want ErrRefused naming %s", tt.give, err, tt.want)
			}
			if n := len(srv.Invocations("StartAutomationExecution")); n != 0 {
				t.Errorf("StartAutomationExecution calls = %d, want none", n)
			}
		})
	}
}
