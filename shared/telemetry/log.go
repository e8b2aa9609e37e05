// Package telemetry is Highway's one place for logs, metrics and traces: slog JSON
// through the Lambda runtime's handler with correlation fields, CloudWatch metrics
// as embedded-metric-format (EMF) log lines, and X-Ray tracing of AWS SDK calls.
// Tracing sits in trace.go alone, so moving to OpenTelemetry touches one file.
package telemetry

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// Correlation identifies what a log line is about, across functions: the event
// that caused it, the commit and the artifact digest it concerns.
type Correlation struct {
	// EventID is the id of the EventBridge event (or job, or request) being handled.
	EventID string
	// Commit is the source commit SHA.
	Commit string
	// Digest is the artifact digest, for example sha256:ab12....
	Digest string
}

type correlationKey struct{}

// Correlate returns a context whose log lines carry c's non-empty fields, merged
// over any correlation ctx already has.
func Correlate(ctx context.Context, c Correlation) context.Context {
	prev, _ := ctx.Value(correlationKey{}).(Correlation)
	if c.EventID == "" {
		c.EventID = prev.EventID
	}
	if c.Commit == "" {
		c.Commit = prev.Commit
	}
	if c.Digest == "" {
		c.Digest = prev.Digest
	}
	return context.WithValue(ctx, correlationKey{}, c)
}

// CorrelationFrom returns the correlation fields carried by ctx.
func CorrelationFrom(ctx context.Context) Correlation {
	c, _ := ctx.Value(correlationKey{}).(Correlation)
	return c
}

// NewLogger returns the logger every function uses: the Lambda runtime's slog
// handler (JSON or text, and the level, come from the function's logging config)
// with the correlation fields of each call's context added.
func NewLogger() *slog.Logger {
	return slog.New(WithCorrelation(lambdacontext.NewLogHandler(lambdacontext.WithFunctionARN())))
}

// WithCorrelation wraps h so that every record logged with a context carries that
// context's correlation fields as eventId, commit and digest.
func WithCorrelation(h slog.Handler) slog.Handler {
	return correlationHandler{h}
}

type correlationHandler struct{ slog.Handler }

func (h correlationHandler) Handle(ctx context.Context, r slog.Record) error {
	c := CorrelationFrom(ctx)
	for _, f := range [...]struct{ key, value string }{
		{"eventId", c.EventID}, {"commit", c.Commit}, {"digest", c.Digest},
	} {
		if f.value != "" {
			r.AddAttrs(slog.String(f.key, f.value))
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h correlationHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return correlationHandler{h.Handler.WithAttrs(attrs)}
}

func (h correlationHandler) WithGroup(name string) slog.Handler {
	return correlationHandler{h.Handler.WithGroup(name)}
}
