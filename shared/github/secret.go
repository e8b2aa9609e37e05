package github

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// MinSecretLen is the shortest webhook secret Highway accepts: 32 bytes, the
// size of the HMAC-SHA256 output, so the key is never the weaker half. The
// secret Highway generates has 64 characters.
const MinSecretLen = 32

// ReloadAfter is how long a Secret keeps its keys before a signature it cannot
// verify makes it read them again: a rotation (a new current key) reaches
// running functions within it, and a flood of bad signatures reads Secrets
// Manager at most once per ReloadAfter per function instance.
const ReloadAfter = time.Minute

// Signature errors. Verify returns exactly one of them; test with errors.Is.
var (
	// ErrNoSignature means the delivery carries no X-Hub-Signature-256: the
	// webhook has no secret set.
	ErrNoSignature = errors.New("github webhook: no X-Hub-Signature-256")
	// ErrBadSignature means the signature is malformed, or is not the body's
	// HMAC under any of the secret's keys.
	ErrBadSignature = errors.New("github webhook: signature does not match the body")
)

// Sign returns the X-Hub-Signature-256 GitHub sends with body when the
// webhook's secret is key.
func Sign(key, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Secret verifies the signatures of webhook deliveries with the webhook
// secret's keys: the current one and, while a rotation completes, the
// previous one. Build it with NewSecret.
type Secret struct {
	load func(context.Context) ([][]byte, error)
	now  func() time.Time

	mu       sync.Mutex
	keys     [][]byte
	loadedAt time.Time
}

// NewSecret reads the keys through load (keyring.Load in a function's main)
// and returns the Secret that verifies with them; now is the clock that
// decides when they may be read again (nil: time.Now). It fails when load
// does, or when a key is shorter than MinSecretLen.
func NewSecret(ctx context.Context, load func(context.Context) ([][]byte, error), now func() time.Time) (*Secret, error) {
	if now == nil {
		now = time.Now
	}
	s := &Secret{load: load, now: now}
	if err := s.reload(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// reload reads the keys again. The caller holds s.mu, or has not shared s.
func (s *Secret) reload(ctx context.Context) error {
	keys, err := s.load(ctx)
	if err != nil {
		return fmt.Errorf("webhook secret: %w", err)
	}
	if len(keys) == 0 {
		return errors.New("webhook secret: no key")
	}
	for i, k := range keys {
		if len(k) < MinSecretLen {
			return fmt.Errorf("webhook secret: key %d is %d bytes, want at least %d", i, len(k), MinSecretLen)
		}
	}
	s.keys, s.loadedAt = keys, s.now()
	return nil
}

// Verify checks header, the delivery's X-Hub-Signature-256, against body, in
// constant time for each key. When no key verifies and the keys were read
// more than ReloadAfter ago, it reads them again and checks once more, so a
// delivery signed with a secret rotated since the function started is not
// refused.
func (s *Secret) Verify(ctx context.Context, body []byte, header string) error {
	if header == "" {
		return ErrNoSignature
	}
	hexSum, ok := strings.CutPrefix(header, "sha256=")
	want, err := hex.DecodeString(hexSum)
	if !ok || err != nil || len(want) != sha256.Size {
		return fmt.Errorf("%w: %q is not sha256=<64 hex digits>", ErrBadSignature, clip(header))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.matches(body, want) {
		return nil
	}
	if s.now().Sub(s.loadedAt) < ReloadAfter {
		return ErrBadSignature
	}
	if err := s.reload(ctx); err != nil {
		// The keys stay as they were, and are read again after ReloadAfter.
		s.loadedAt = s.now()
		slog.WarnContext(ctx, "webhook secret not read again", "error", err)
		return ErrBadSignature
	}
	if s.matches(body, want) {
		return nil
	}
	return ErrBadSignature
}

// matches reports whether want is body's HMAC under one of the keys. Every
// key is tried, so the time taken does not say which one matched.
func (s *Secret) matches(body, want []byte) bool {
	ok := false
	for _, k := range s.keys {
		mac := hmac.New(sha256.New, k)
		mac.Write(body)
		if hmac.Equal(mac.Sum(nil), want) {
			ok = true
		}
	}
	return ok
}
