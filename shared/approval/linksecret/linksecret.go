// Package linksecret reads the secrets that sign approval links from Secrets
// Manager, once, when a function starts. It is a package of its own so that
// only the functions that sign or verify links link the Secrets Manager client.
package linksecret

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/highwayhq/highway/shared/approval"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// API is the part of the Secrets Manager client Load uses.
type API interface {
	GetSecretValue(ctx context.Context, params *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

var _ API = (*secretsmanager.Client)(nil)

// Load reads the link-signing secrets, current first, for approval.NewSigner. The
// secret is either a JSON object {"current": "...", "previous": "..."}
// ("previous" optional: set it while rotating, so links already mailed keep
// working) or the secret itself as a plain string or binary. A function's main
// calls it once at start.
func Load(ctx context.Context, api API, secretID string) ([][]byte, error) {
	out, err := api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretID)})
	if err != nil {
		return nil, fmt.Errorf("read approval secret %s: %w", secretID, err)
	}
	if out.SecretString == nil {
		if len(out.SecretBinary) == 0 {
			return nil, fmt.Errorf("approval secret %s is empty", secretID)
		}
		return [][]byte{out.SecretBinary}, nil
	}
	s := *out.SecretString
	if !strings.HasPrefix(strings.TrimSpace(s), "{") {
		if s == "" {
			return nil, fmt.Errorf("approval secret %s is empty", secretID)
		}
		return [][]byte{[]byte(s)}, nil
	}
	var keys struct {
		Current  string `json:"current"`
		Previous string `json:"previous"`
	}
	if err := json.Unmarshal([]byte(s), &keys); err != nil {
		// The error would quote the secret: say only where it is.
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return nil, fmt.Errorf("approval secret %s: invalid JSON at byte %d", secretID, syn.Offset)
		}
		return nil, fmt.Errorf("approval secret %s: want {\"current\": string, \"previous\": string}", secretID)
	}
	if keys.Current == "" {
		return nil, fmt.Errorf("approval secret %s has no \"current\"", secretID)
	}
	secrets := [][]byte{[]byte(keys.Current)}
	if keys.Previous != "" {
		secrets = append(secrets, []byte(keys.Previous))
	}
	return secrets, nil
}

// LoadSigner loads the link secret and returns the signer of approval links:
// the current key signs, and the previous one, while set, still verifies.
func LoadSigner(ctx context.Context, api API, secretID string) (approval.Signer, error) {
	keys, err := Load(ctx, api, secretID)
	if err != nil {
		return approval.Signer{}, err
	}
	return approval.NewSigner(keys[0], keys[1:]...)
}
