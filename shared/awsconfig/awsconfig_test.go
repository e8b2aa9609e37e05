package awsconfig

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
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

// Clients built from the loaded configuration one after another, as a
// function builds them per event, share one pool of connections: three calls
// through three clients open one connection.
func TestClientsShareConnections(t *testing.T) {
	t.Setenv("AWS_CA_BUNDLE", "") // as in Lambda, which sets no CA bundle
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	var opened atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		io.WriteString(w, `{"TableNames":[]}`)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	cfg, err := Load(t.Context(), Options{Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := dynamodb.NewFromConfig(cfg).ListTables(t.Context(), &dynamodb.ListTablesInput{}); err != nil {
			t.Fatal(err)
		}
	}
	if n := opened.Load(); n != 1 {
		t.Errorf("3 clients opened %d connections, want 1 shared", n)
	}
}
