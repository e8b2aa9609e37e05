package telemetry

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// TraceAWS instruments a configuration's clients, unless the build has no
// X-Ray (-tags highway_noxray); Span runs its function and returns its
// error either way.
func TestTrace(t *testing.T) {
	var cfg aws.Config
	TraceAWS(&cfg)
	if got := len(cfg.APIOptions) > 0; got != withXRay {
		t.Errorf("TraceAWS added API options: %v, want %v (X-Ray in this build: %v)", got, withXRay, withXRay)
	}
	boom := errors.New("boom")
	ran := false
	err := Span(context.Background(), "step", func(context.Context) error { ran = true; return boom })
	if !ran || !errors.Is(err, boom) {
		t.Errorf("Span ran %v and returned %v, want its function run and its error", ran, err)
	}
}
