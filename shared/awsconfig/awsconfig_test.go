package awsconfig

import (
	"context"
	"testing"
)

func TestLoadAppliesOverrides(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")

	tests := []struct {
		name         string
		give         Options
		wantRegion   string
		wantEndpoint string
		wantTraced   bool
	}{
		{"defaults from environment", Options{}, "eu-west-1", "", false},
		{"endpoint and region", Options{Endpoint: "http://127.0.0.1:8000", Region: "us-east-2"}, "us-east-2", "http://127.0.0.1:8000", false},
		{"traced", Options{Trace: true}, "eu-west-1", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load(context.Background(), tt.give)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Region != tt.wantRegion {
				t.Errorf("Region = %q, want %q", cfg.Region, tt.wantRegion)
			}
			got := ""
			if cfg.BaseEndpoint != nil {
				got = *cfg.BaseEndpoint
			}
			if got != tt.wantEndpoint {
				t.Errorf("BaseEndpoint = %q, want %q", got, tt.wantEndpoint)
			}
			base, _ := Load(context.Background(), Options{})
			if traced := len(cfg.APIOptions) > len(base.APIOptions); traced != tt.wantTraced {
				t.Errorf("traced = %v, want %v (APIOptions %d vs %d)", traced, tt.wantTraced, len(cfg.APIOptions), len(base.APIOptions))
			}
			creds, err := cfg.Credentials.Retrieve(context.Background())
			if err != nil || creds.AccessKeyID != "AKIDEXAMPLE" {
				t.Errorf("credentials = %v, %v; want the environment's", creds.AccessKeyID, err)
			}
		})
	}
}
