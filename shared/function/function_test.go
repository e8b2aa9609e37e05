package function

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/telemetry"
)

func TestFlushingFlushesAfterEveryInvocation(t *testing.T) {
	tests := []struct {
		name    string
		giveErr error
	}{
		{"success", nil},
		{"error", errors.New("throttled")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			m := telemetry.NewMetrics(&out, telemetry.Namespace)
			h := Flushing(m, func(_ context.Context, n int) (int, error) {
				if err := m.Put("Handled", float64(n), telemetry.Count, nil); err != nil {
					t.Fatal(err)
				}
				if out.Len() != 0 {
					t.Error("metrics written before the handler returned")
				}
				return n * 2, tt.giveErr
			})
			got, err := h(context.Background(), 21)
			if got != 42 || !errors.Is(err, tt.giveErr) {
				t.Errorf("handler() = %d, %v; want 42, %v", got, err, tt.giveErr)
			}
			if !strings.Contains(out.String(), `"Handled":21`) || !strings.Contains(out.String(), `"Namespace":"Highway"`) {
				t.Errorf("after the invocation the metrics output is %q, want the Handled metric in namespace Highway", out.String())
			}
		})
	}
}

func TestLoadFailsFast(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"no policy", map[string]string{"HIGHWAY_POLICY_FILE": "", "LAMBDA_TASK_ROOT": ""}, "HIGHWAY_POLICY_FILE"},
		{"missing policy file", map[string]string{"HIGHWAY_POLICY_FILE": "/nonexistent/highway.yaml"}, "/nonexistent/highway.yaml"},
		{"no table", map[string]string{"HIGHWAY_POLICY_FILE": "../../infra/highway.yaml", EnvTable: "", EnvBus: "highway"}, EnvTable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			_, err := Load(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load() error = %v, want one naming %s", err, tt.want)
			}
		})
	}
}

func TestLoadReadsTheFunctionEnvironment(t *testing.T) {
	for k, v := range map[string]string{
		"HIGHWAY_POLICY_FILE": "../../infra/highway.yaml", EnvTable: "highway-ledger", EnvBus: "highway",
		EnvTopic: "arn:aws:sns:eu-west-1:111111111111:highway-notifications", EnvTracing: "off",
		EnvAccessRole: "highway-access-gate",
		"AWS_REGION":  "eu-west-1", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s",
		"AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
	} {
		t.Setenv(k, v)
	}
	rt, err := Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rt.Table != "highway-ledger" || rt.Bus != "highway" || rt.Topic != "arn:aws:sns:eu-west-1:111111111111:highway-notifications" ||
		rt.Policy.Hub.Account != "111111111111" || rt.AWS.Region != "eu-west-1" || rt.Accounts == nil || rt.Metrics == nil {
		t.Errorf("Load() = %+v", rt)
	}
	if got := rt.Accounts.RoleARN("222222222222"); got != "arn:aws:iam::222222222222:role/highway-access-gate" {
		t.Errorf("Accounts.RoleARN = %q, want the access role %s names", got, EnvAccessRole)
	}
}

func TestColdStartRecordReadsBack(t *testing.T) {
	// GIVEN a function's log at debug level, JSON lines as Lambda writes them
	var log bytes.Buffer
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.NewJSONHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug})))
	slog.Info("before", "policyUs", 1)

	// WHEN Start's cold start record is logged
	before := time.Now()
	phases{policy: 1500 * time.Microsecond, aws: 2 * time.Millisecond}.logStarted()

	// THEN make bench reads it back from the log, and no other line
	c, ok := ParseColdStart(log.String())
	if !ok {
		t.Fatalf("no cold start record in %q", log.String())
	}
	if c.PolicyUs != 1500 || c.AWSConfigUs != 2000 || c.InitializedAtUs != initialized.UnixMicro() ||
		c.ReadyAtUs < before.UnixMicro() || c.ReadyAtUs < c.InitializedAtUs {
		t.Errorf("cold start = %+v, want policy 1500 µs, AWS config 2000 µs, initialized at %d, ready after %d",
			c, initialized.UnixMicro(), before.UnixMicro())
	}
	if _, ok := ParseColdStart(`{"msg":"before","policyUs":1}` + "\n"); ok {
		t.Error("ParseColdStart read a record of another message")
	}
}
