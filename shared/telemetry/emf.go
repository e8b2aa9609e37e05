package telemetry

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// Unit is a CloudWatch metric unit.
type Unit string

// The CloudWatch units Highway's metrics use.
const (
	Count        Unit = "Count"
	Milliseconds Unit = "Milliseconds"
	Seconds      Unit = "Seconds"
	Percent      Unit = "Percent"
	Bytes        Unit = "Bytes"
	None         Unit = "None"
)

// EMF limits from the CloudWatch embedded metric format specification.
const (
	maxMetricsPerDocument = 100
	maxValuesPerMetric    = 100
	maxDimensions         = 30
	maxNameLength         = 255
)

// Dimensions are the CloudWatch dimensions of a metric, for example
// {"App": "checkout", "Env": "prod"}.
type Dimensions map[string]string

// Metrics buffers CloudWatch metrics and writes them as embedded-metric-format
// JSON lines, which the Lambda log pipeline turns into metrics without any API
// call. It is safe for concurrent use.
type Metrics struct {
	w         io.Writer
	namespace string
	now       func() time.Time

	mu   sync.Mutex
	sets map[string]*metricSet // keyed by the canonical form of the dimensions
}

type metricSet struct {
	dims   Dimensions
	names  []string // first-seen order
	units  map[string]Unit
	values map[string][]float64
}

// Putter records CloudWatch metrics: Metrics does, and a handler takes a
// Putter so its tests can read what it measured.
type Putter interface {
	Put(name string, value float64, unit Unit, dims Dimensions) error
}

var _ Putter = (*Metrics)(nil)

// NewMetrics returns a buffer that writes documents in namespace to w on Flush.
func NewMetrics(w io.Writer, namespace string) *Metrics {
	return &Metrics{w: w, namespace: namespace, now: time.Now, sets: map[string]*metricSet{}}
}

// Put records one value of the metric name with unit under dims. Values of the
// same metric and dimensions are sent together as a list.
func (m *Metrics) Put(name string, value float64, unit Unit, dims Dimensions) error {
	if err := validName("metric", name); err != nil {
		return err
	}
	if len(dims) > maxDimensions {
		return fmt.Errorf("metric %s: %d dimensions, at most %d", name, len(dims), maxDimensions)
	}
	for k, v := range dims {
		if err := validName("dimension", k); err != nil {
			return err
		}
		if v == "" {
			return fmt.Errorf("metric %s: dimension %s has an empty value", name, k)
		}
		if k == name {
			return fmt.Errorf("metric %s: a dimension has the same name", name)
		}
	}
	key := canonical(dims)
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sets[key]
	if !ok {
		s = &metricSet{dims: maps.Clone(dims), units: map[string]Unit{}, values: map[string][]float64{}}
		m.sets[key] = s
	}
	if _, isDim := s.dims[name]; isDim {
		return fmt.Errorf("metric %s: a dimension has the same name", name)
	}
	if u, seen := s.units[name]; seen && u != unit {
		return fmt.Errorf("metric %s: unit %s, earlier %s", name, unit, u)
	}
	if _, seen := s.units[name]; !seen {
		s.names = append(s.names, name)
		s.units[name] = unit
	}
	s.values[name] = append(s.values[name], value)
	return nil
}

// Flush writes every buffered metric as EMF documents, one JSON object a line,
// and empties the buffer. A document holds one dimension set and at most 100
// metrics of at most 100 values each, as the specification allows.
func (m *Metrics) Flush() error {
	m.mu.Lock()
	sets := m.sets
	m.sets = map[string]*metricSet{}
	m.mu.Unlock()

	ts := m.now().UnixMilli()
	var b strings.Builder
	for _, key := range slices.Sorted(maps.Keys(sets)) {
		s := sets[key]
		for chunk := range slices.Chunk(s.names, maxMetricsPerDocument) {
			for doc := range s.documents(m.namespace, ts, chunk) {
				line, err := json.Marshal(doc)
				if err != nil {
					return fmt.Errorf("encode EMF document: %w", err)
				}
				b.Write(line)
				b.WriteByte('\n')
			}
		}
	}
	if b.Len() == 0 {
		return nil
	}
	_, err := io.WriteString(m.w, b.String())
	return err
}

// documents yields as many documents as the longest value list needs, so that no
// metric carries more than 100 values in one of them.
func (s *metricSet) documents(namespace string, ts int64, names []string) func(func(map[string]any) bool) {
	return func(yield func(map[string]any) bool) {
		for offset := 0; ; offset += maxValuesPerMetric {
			doc := map[string]any{}
			for k, v := range s.dims {
				doc[k] = v
			}
			var defs []map[string]string
			for _, n := range names {
				vals := s.values[n]
				if offset >= len(vals) {
					continue
				}
				vals = vals[offset:min(len(vals), offset+maxValuesPerMetric)]
				if len(vals) == 1 {
					doc[n] = vals[0]
				} else {
					doc[n] = vals
				}
				defs = append(defs, map[string]string{"Name": n, "Unit": string(s.units[n])})
			}
			if len(defs) == 0 {
				return
			}
			dimNames := slices.Sorted(maps.Keys(s.dims))
			if dimNames == nil {
				dimNames = []string{}
			}
			doc["_aws"] = map[string]any{
				"Timestamp": ts,
				"CloudWatchMetrics": []map[string]any{{
					"Namespace":  namespace,
					"Dimensions": [][]string{dimNames},
					"Metrics":    defs,
				}},
			}
			if !yield(doc) {
				return
			}
		}
	}
}

func validName(what, name string) error {
	if name == "" || len(name) > maxNameLength {
		return fmt.Errorf("%s name %q: want 1 to %d characters", what, name, maxNameLength)
	}
	return nil
}

func canonical(d Dimensions) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(d)) {
		fmt.Fprintf(&b, "%q=%q;", k, d[k])
	}
	return b.String()
}
