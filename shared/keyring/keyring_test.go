package keyring_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/keyring"
)

const (
	secret    = "k7Qz0f3R9wYx2LmB8vTn5Hc1Jd6Gs4Pa-current"
	oldSecret = "U2e9Wq4Zr7Ty1Io5Pa8Sd3Fg6Hj0Kl2M-previous"
)

const secretARN = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:highway/approval-links-AbCdEf"

// secretValue is a GetSecretValue answer as Secrets Manager sends it.
func secretValue(t *testing.T, fields map[string]any) awsfake.Response {
	t.Helper()
	fields["ARN"], fields["Name"], fields["VersionId"] = secretARN, "highway/approval-links", "v-1"
	b, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	return awsfake.JSON(200, string(b))
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		give    map[string]any
		want    []string
		wantErr bool
	}{
		{name: "rotating", give: map[string]any{"SecretString": `{"current": "` + secret + `", "previous": "` + oldSecret + `"}`}, want: []string{secret, oldSecret}},
		{name: "current only", give: map[string]any{"SecretString": `{"current": "` + secret + `"}`}, want: []string{secret}},
		{name: "plain string", give: map[string]any{"SecretString": secret}, want: []string{secret}},
		{name: "binary", give: map[string]any{"SecretBinary": base64.StdEncoding.EncodeToString([]byte(secret))}, want: []string{secret}},
		{name: "JSON without current", give: map[string]any{"SecretString": `{"previous": "` + oldSecret + `"}`}, wantErr: true},
		{name: "broken JSON", give: map[string]any{"SecretString": `{"current": "` + secret}, wantErr: true},
		{name: "JSON of the wrong shape", give: map[string]any{"SecretString": `{"current": ["` + secret + `"]}`}, wantErr: true},
		{name: "empty", give: map[string]any{"SecretString": ""}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := awsfake.New(t)
			srv.On("GetSecretValue", secretValue(t, tt.give))
			got, err := keyring.Load(context.Background(), secretsmanager.NewFromConfig(srv.Config()), "highway/approval-links")
			if (err != nil) != tt.wantErr {
				t.Fatalf("Load() error = %v, want error %v", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), secret[:12]) {
				t.Errorf("Load() error quotes the secret: %v", err)
			}
			var gotStr []string
			for _, b := range got {
				gotStr = append(gotStr, string(b))
			}
			if !reflect.DeepEqual(gotStr, tt.want) {
				t.Errorf("Load() = %q, want %q", gotStr, tt.want)
			}
			var in struct{ SecretId string }
			if err := srv.Calls("GetSecretValue")[0].DecodeJSON(&in); err != nil || in.SecretId != "highway/approval-links" {
				t.Errorf("GetSecretValue(SecretId %q), want highway/approval-links", in.SecretId)
			}
		})
	}
}

func TestLoadReportsAPIErrors(t *testing.T) {
	srv := awsfake.New(t)
	srv.On("GetSecretValue", awsfake.APIError(400, "ResourceNotFoundException", "Secrets Manager can't find the specified secret."))
	_, err := keyring.Load(context.Background(), secretsmanager.NewFromConfig(srv.Config()), "highway/approval-links")
	if err == nil || !strings.Contains(err.Error(), "ResourceNotFoundException") {
		t.Errorf("Load(missing) error = %v, want ResourceNotFoundException", err)
	}
}
