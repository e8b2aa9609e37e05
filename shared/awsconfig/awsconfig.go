// Package awsconfig loads the one aws.Config a Highway process uses for all its
// clients, with an endpoint override for local runs and tests.
package awsconfig

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/highwayhq/highway/shared/telemetry"
)

// Options adjust how the configuration is loaded.
type Options struct {
	// Endpoint, when set, sends every client's calls there (DynamoDB Local, the
	// wire-level fake). The SDK's own AWS_ENDPOINT_URL and
	// AWS_ENDPOINT_URL_<SERVICE> variables work as well, per service.
	Endpoint string
	// Region overrides the region from the environment.
	Region string
	// Trace instruments every client built from the config with X-Ray.
	Trace bool
}

// Load reads the default credential chain and region once, applies opts, and
// returns the configuration every client of the process is built from.
func Load(ctx context.Context, opts Options) (aws.Config, error) {
	var loaders []func(*config.LoadOptions) error
	if opts.Region != "" {
		loaders = append(loaders, config.WithRegion(opts.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loaders...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS config: %w", err)
	}
	// One HTTP client, and so one pool of connections, for every SDK client
	// built from cfg. Left unset, as LoadDefaultConfig leaves it in Lambda,
	// each NewFromConfig builds a transport of its own: a function that
	// builds a client per event (an artifact's credentials, a role's session)
	// opened new connections on every invocation, paid a handshake each time,
	// and kept the idle ones, two goroutines apiece, for 90 s (gatejob held
	// 800 sockets and 96 MB after 1,000 invocations). The client stays a
	// BuildableClient rather than a frozen one, so that a service whose
	// defaults mode or read timeout the SDK sets still gets its own derived
	// copy, with those timeouts (and then a pool of its own:
	// TestClientsShareConnections fails once the SDK starts doing that in
	// Highway's configuration).
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = awshttp.NewBuildableClient()
	}
	if opts.Endpoint != "" {
		cfg.BaseEndpoint = aws.String(opts.Endpoint)
	}
	if opts.Trace {
		telemetry.TraceAWS(&cfg)
	}
	return cfg, nil
}
