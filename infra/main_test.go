package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

func TestMain(m *testing.M) {
	code := m.Run()
	jsii.Close()
	os.Exit(code)
}

func TestBadPolicyFailsWithItsLine(t *testing.T) {
	tests := []struct {
		name string
		give string
		want string
	}{
		{
			name: "unknown key",
			give: "version: 1\nhub:\n  account: \"111111111111\"\n  regoin: eu-west-1\n",
			want: ":4:",
		},
		{
			name: "account of eleven digits",
			give: "version: 1\nhub:\n  account: \"11111111111\"\n  region: eu-west-1\napps:\n  - name: a\n    repository: a\n    environments:\n      - {name: dev, account: \"222222222222\", region: eu-west-1}\n",
			want: ":3:",
		},
		{
			name: "YAML syntax",
			give: "version: 1\nhub:\n\taccount: \"111111111111\"\n",
			want: ":3:",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// GIVEN a policy file with a mistake
			file := filepath.Join(t.TempDir(), "highway.yaml")
			if err := os.WriteFile(file, []byte(tt.give), 0o644); err != nil {
				t.Fatal(err)
			}
			app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})

			// WHEN the app is built from it
			err := build(app, file, t.TempDir())

			// THEN the build fails, pointing at the file and line
			if err == nil || !strings.Contains(err.Error(), file+tt.want) {
				t.Errorf("build(%q) = %v, want an error at %s%s", tt.give, err, file, tt.want)
			}
		})
	}
}

func TestContextPicksThePolicy(t *testing.T) {
	tests := []struct {
		name string
		give map[string]any
		want string
	}{
		{name: "default", give: nil, want: defaultPolicyFile},
		{name: "from context", give: map[string]any{"policy": "other.yaml"}, want: "other.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir()), Context: &tt.give})
			if got := contextString(app, "policy", defaultPolicyFile); got != tt.want {
				t.Errorf("contextString(policy) = %q, want %q", got, tt.want)
			}
		})
	}
}
