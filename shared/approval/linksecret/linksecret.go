// Package linksecret reads the secrets that sign approval links from Secrets
// Manager, once, when a function starts. It is a package of its own so that
// only the functions that sign or verify links link the Secrets Manager client.
package linksecret

import (
	"context"
	"fmt"

	"github.com/highwayhq/highway/shared/approval"
	"github.com/highwayhq/highway/shared/keyring"
)

// API is the part of the Secrets Manager client Load uses.
type API = keyring.API

// Load reads the link-signing secrets, current first, for approval.NewSigner. The
// secret is either a JSON object {"current": "...", "previous": "..."}
// ("previous" optional: set it while rotating, so links already mailed keep
// working) or the secret itself as a plain string or binary (keyring.Load). A
// function's main calls it once at start.
func Load(ctx context.Context, api API, secretID string) ([][]byte, error) {
	keys, err := keyring.Load(ctx, api, secretID)
	if err != nil {
		return nil, fmt.Errorf("approval link key: %w", err)
	}
	return keys, nil
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
