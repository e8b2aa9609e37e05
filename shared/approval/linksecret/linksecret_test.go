package linksecret_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/highwayhq/highway/shared/approval"
	"github.com/highwayhq/highway/shared/approval/linksecret"
	"github.com/highwayhq/highway/shared/awsfake"
)

const (
	secret    = "k7Qz0f3R9wYx2LmB8vTn5Hc1Jd6Gs4Pa-current"
	oldSecret = "U2e9Wq4Zr7Ty1Io5Pa8Sd3Fg6Hj0Kl2M-previous"
)

// The secret's forms are keyring's (shared/keyring tests them); linksecret
// makes a signer of them, whose previous key still verifies.
func TestLoadSignerVerifiesWithThePreviousKey(t *testing.T) {
	srv := awsfake.New(t)
	srv.On("GetSecretValue", awsfake.JSON(200, `{"Name":"highway/approval-links","SecretString":"{\"current\":\"`+secret+`\",\"previous\":\"`+oldSecret+`\"}"}`))
	signer, err := linksecret.LoadSigner(context.Background(), secretsmanager.NewFromConfig(srv.Config()), "highway/approval-links")
	if err != nil {
		t.Fatal(err)
	}
	old, err := approval.NewSigner([]byte(oldSecret))
	if err != nil {
		t.Fatal(err)
	}
	expires := time.Date(2026, 11, 17, 12, 0, 0, 0, time.UTC)
	link, err := url.Parse(old.Link("https://approvals.example/", "apr-1", "ana@example.com", approval.ActionApprove, expires))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := signer.Verify(link.Query(), expires.Add(-time.Hour)); err != nil {
		t.Errorf("Verify(link signed with the previous key) = %v, want it accepted", err)
	}
}

func TestLoadReportsAPIErrors(t *testing.T) {
	srv := awsfake.New(t)
	srv.On("GetSecretValue", awsfake.APIError(400, "ResourceNotFoundException", "Secrets Manager can't find the specified secret."))
	_, err := linksecret.Load(context.Background(), secretsmanager.NewFromConfig(srv.Config()), "highway/approval-links")
	if err == nil || !strings.Contains(err.Error(), "ResourceNotFoundException") || !strings.Contains(err.Error(), "approval link key") {
		t.Errorf("Load(missing) error = %v, want ResourceNotFoundException, said of the approval link key", err)
	}
}
