//go:build !highway_noxray

package telemetry

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-xray-sdk-go/instrumentation/awsv2"
)

// This file is the only one that knows about X-Ray. The X-Ray SDKs reach end of
// support on 2027-02-25; replacing them with OpenTelemetry means rewriting the
// function below and nothing else. A build with -tags highway_noxray (XRAY=off
// scripts/build.sh) takes trace_noxray.go instead.

// TraceAWS adds a subsegment for every AWS SDK call made with cfg, so the trace of
// an invocation shows each call's service, operation, latency and retries.
func TraceAWS(cfg *aws.Config) {
	awsv2.AWSV2Instrumentor(&cfg.APIOptions)
}
