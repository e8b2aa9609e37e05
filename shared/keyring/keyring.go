// Package keyring reads the HMAC keys Highway keeps in Secrets Manager: the
// key that signs approval links, and the secret GitHub signs webhook
// deliveries with. Each is a JSON object {"current": key, "previous": key},
// "previous" set only while a rotation completes, so that what was signed
// with the old key still verifies. It is a package of its own so that only
// the functions that verify or sign link the Secrets Manager client.
package keyring

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// API is the part of the Secrets Manager client Load uses.
type API interface {
	GetSecretValue(ctx context.Context, params *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

var _ API = (*secretsmanager.Client)(nil)

// Load reads the keys of secret secretID, current first: the secret is either
// a JSON object {"current": "...", "previous": "..."} ("previous" optional) or
// the key itself as a plain string or binary. No error quotes the secret.
func Load(ctx context.Context, api API, secretID string) ([][]byte, error) {
	out, err := api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretID)})
	if err != nil {
		return nil, fmt.Errorf("read secret %s: %w", secretID, err)
	}
	if out.SecretString == nil {
		if len(out.SecretBinary) == 0 {
			return nil, fmt.Errorf("secret %s is empty", secretID)
		}
		return [][]byte{out.SecretBinary}, nil
	}
	s := *out.SecretString
	if !strings.HasPrefix(strings.TrimSpace(s), "{") {
		if s == "" {
			return nil, fmt.Errorf("secret %s is empty", secretID)
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
			return nil, fmt.Errorf("secret %s: invalid JSON at byte %d", secretID, syn.Offset)
		}
		return nil, fmt.Errorf("secret %s: want {\"current\": string, \"previous\": string}", secretID)
	}
	if keys.Current == "" {
		return nil, fmt.Errorf("secret %s has no \"current\"", secretID)
	}
	secrets := [][]byte{[]byte(keys.Current)}
	if keys.Previous != "" {
		secrets = append(secrets, []byte(keys.Previous))
	}
	return secrets, nil
}
