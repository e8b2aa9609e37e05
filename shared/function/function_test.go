package function

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

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
			m := telemetry.NewMetrics(&out, Namespace)
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
		{"missing policy file", map[string]string{"HIGHWAY_POLICY_FILE": "/nonexistent/highway.json"}, "/nonexistent/highway.json"},
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
