package main

import (
	"slices"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/function"
	"github.com/highwayhq/highway/shared/localaws"
)

// PingRounds is how many cold starts BenchmarkPing measures of each function,
// and as many of the floor, alternating.
const PingRounds = 20

// BenchmarkPing measures each function's cold start on its ping event
// (events/ping/<function>.json: an event it decodes and answers without an
// AWS call, or with the one or two it cannot do without: localaws.Pings),
// alternating with the hello-world floor's on the same event, so
// that both see the same machine: PingRounds of each, from starting the
// emulator to the first answer. It reports, per function:
//
//   - ping-p50-ms and floor-p50-ms, the medians, and ping-ratio, their ratio;
//   - the median of each step of the function's cold start, from the record
//     function.Start logs at debug level (function.ColdStart): start-ms, the
//     emulator's and the process's start and package initialization, up to
//     package function's own (the few packages initialized after it count in
//     setup-ms); policy-ms and aws-ms, function.Load's reading of
//     the policy and of the AWS configuration; setup-ms, the rest of main
//     until the handler starts; first-ms, from then to the first answer.
//
// dora's and approvalrequest's pings read the ledger (events/ping/README.md),
// on one site for all the rounds: their first step is DynamoDB Local's work
// as much as theirs. Run it with -benchtime 1x: the rounds are not b.N.
func BenchmarkPing(b *testing.B) {
	rie := localaws.Require(b, localaws.EnvRIE)
	localaws.Require(b, localaws.EnvDynamoDB)
	root, err := localaws.ModuleRoot()
	if err != nil {
		b.Fatal(err)
	}
	fns, err := functions(root)
	if err != nil {
		b.Fatal(err)
	}
	hello := localaws.Build(b, b.TempDir(), "scripts/hello")
	for _, fn := range fns {
		b.Run(fn, func(b *testing.B) {
			_, d, event := localaws.DeployPing(b, fn)
			env := append(slices.Clone(d.Env), "AWS_LAMBDA_LOG_LEVEL=DEBUG")
			var pings, floors []time.Duration
			var steps [5][]time.Duration
			for b.Loop() {
				for round := range PingRounds {
					// Each goes first in every other round, with the same
					// environment.
					if round%2 == 1 {
						took, _ := localaws.ColdStart(b, rie, hello, env, event, nil)
						floors = append(floors, took)
					}
					took, e := localaws.ColdStart(b, rie, d.Bootstrap, env, event, nil)
					started := e.Started
					c, ok := function.ParseColdStart(e.Log())
					if !ok {
						b.Fatalf("%s logged no %q record at debug level:\n%s", fn, function.ColdStartMessage, e.Log())
					}
					pings = append(pings, took)
					for i, s := range stepsOf(c, started, took) {
						steps[i] = append(steps[i], s)
					}
					if round%2 == 0 {
						took, _ = localaws.ColdStart(b, rie, hello, env, event, nil)
						floors = append(floors, took)
					}
				}
			}
			ping, floor := localaws.Percentile(pings, 50), localaws.Percentile(floors, 50)
			b.ReportMetric(localaws.Millis(ping), "ping-p50-ms")
			b.ReportMetric(localaws.Millis(floor), "floor-p50-ms")
			b.ReportMetric(float64(ping)/float64(floor), "ping-ratio")
			for i, unit := range []string{"start-ms", "policy-ms", "aws-ms", "setup-ms", "first-ms"} {
				b.ReportMetric(localaws.Millis(localaws.Percentile(steps[i], 50)), unit)
			}
		})
	}
}

// stepsOf splits a cold start that began at started and answered took later
// into the steps of c: start, policy, AWS configuration, setup, first answer.
func stepsOf(c function.ColdStart, started time.Time, took time.Duration) [5]time.Duration {
	initialized, ready := time.UnixMicro(c.InitializedAtUs), time.UnixMicro(c.ReadyAtUs)
	policy, aws := time.Duration(c.PolicyUs)*time.Microsecond, time.Duration(c.AWSConfigUs)*time.Microsecond
	return [5]time.Duration{initialized.Sub(started), policy, aws, ready.Sub(initialized) - policy - aws, started.Add(took).Sub(ready)}
}
