// Package telemetrytest records metrics in memory, for the tests of the
// handlers that measure what they do.
package telemetrytest

import (
	"io"
	"log/slog"
	"sync"
	"testing"

	"github.com/highwayhq/highway/shared/telemetry"
)

// Value is one value put.
type Value struct {
	Name  string
	Value float64
	Unit  telemetry.Unit
	Dims  telemetry.Dimensions
}

// Recorder is a telemetry.Putter that keeps every value, in order. It is
// safe for concurrent use.
type Recorder struct {
	mu     sync.Mutex
	values []Value
}

var _ telemetry.Putter = (*Recorder)(nil)

// Put records a value.
func (r *Recorder) Put(name string, value float64, unit telemetry.Unit, dims telemetry.Dimensions) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.values = append(r.values, Value{Name: name, Value: value, Unit: unit, Dims: dims})
	return nil
}

// Values returns the values put under name, in order.
func (r *Recorder) Values(name string) []Value {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Value
	for _, v := range r.values {
		if v.Name == name {
			out = append(out, v)
		}
	}
	return out
}

// DiscardLogs makes the default logger format every record as the
// functions do (JSON, with the correlation fields) and drop it, until tb
// ends: benchmarks measure the logging, and print none of it.
func DiscardLogs(tb testing.TB) {
	prev := slog.Default()
	slog.SetDefault(slog.New(telemetry.WithCorrelation(slog.NewJSONHandler(io.Discard, nil))))
	tb.Cleanup(func() { slog.SetDefault(prev) })
}
