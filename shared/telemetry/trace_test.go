package telemetry

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// TraceAWS instruments a configuration's clients, unless the build has no
// X-Ray (-tags highway_noxray).
func TestTrace(t *testing.T) {
	var cfg aws.Config
	TraceAWS(&cfg)
	if got := len(cfg.APIOptions) > 0; got != withXRay {
		t.Errorf("TraceAWS added API options: %v, want %v (X-Ray in this build: %v)", got, withXRay, withXRay)
	}
}
