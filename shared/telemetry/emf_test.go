package telemetry

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// checkEMF verifies one line against the CloudWatch embedded metric format
// specification: a root _aws object with an integer millisecond Timestamp and a
// CloudWatchMetrics array of directives; each directive has a Namespace, a
// Dimensions array of dimension sets whose members are string root members, and
// a Metrics array whose Names are numeric (or numeric-array) root members.
func checkEMF(t *testing.T, line []byte) map[string]any {
	t.Helper()
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("line %q is not a JSON object: %v", line, err)
	}
	meta, ok := doc["_aws"].(map[string]any)
	if !ok {
		t.Fatalf("no _aws object in %s", line)
	}
	ts, ok := meta["Timestamp"].(json.Number)
	if _, err := ts.Int64(); !ok || err != nil {
		t.Fatalf("_aws.Timestamp = %v, want integer epoch milliseconds", meta["Timestamp"])
	}
	directives, ok := meta["CloudWatchMetrics"].([]any)
	if !ok || len(directives) == 0 {
		t.Fatalf("_aws.CloudWatchMetrics = %v, want a non-empty array", meta["CloudWatchMetrics"])
	}
	for _, d := range directives {
		dir := d.(map[string]any)
		if ns, _ := dir["Namespace"].(string); ns == "" || len(ns) > 255 {
			t.Errorf("Namespace = %v, want 1-255 characters", dir["Namespace"])
		}
		sets, ok := dir["Dimensions"].([]any)
		if !ok {
			t.Fatalf("Dimensions = %v, want an array of dimension sets", dir["Dimensions"])
		}
		for _, s := range sets {
			set := s.([]any)
			if len(set) > 30 {
				t.Errorf("dimension set of %d, at most 30", len(set))
			}
			for _, name := range set {
				if _, ok := doc[name.(string)].(string); !ok {
					t.Errorf("dimension %v is not a string root member", name)
				}
			}
		}
		metrics, ok := dir["Metrics"].([]any)
		if !ok || len(metrics) == 0 || len(metrics) > 100 {
			t.Fatalf("Metrics = %d entries, want 1 to 100", len(metrics))
		}
		for _, m := range metrics {
			def := m.(map[string]any)
			name, _ := def["Name"].(string)
			switch v := doc[name].(type) {
			case json.Number:
			case []any:
				if len(v) > 100 {
					t.Errorf("metric %s has %d values, at most 100", name, len(v))
				}
			default:
				t.Errorf("metric %s: root member %v is not a number or list of numbers", name, doc[name])
			}
		}
	}
	return doc
}

func lines(t *testing.T, b *bytes.Buffer) [][]byte {
	t.Helper()
	var out [][]byte
	sc := bufio.NewScanner(b)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, append([]byte(nil), sc.Bytes()...))
	}
	return out
}

func TestMetricsFlushWritesSpecCompliantDocuments(t *testing.T) {
	var buf bytes.Buffer
	m := NewMetrics(&buf, "Highway")
	m.now = func() time.Time { return time.UnixMilli(1764112019123) }
	prod := Dimensions{"App": "checkout", "Env": "prod"}
	must(t, m.Put("Deployments", 1, Count, prod))
	must(t, m.Put("LeadTime", 3600, Seconds, prod))
	must(t, m.Put("LeadTime", 7200, Seconds, prod))
	must(t, m.Put("GateDecisions", 1, Count, Dimensions{"App": "checkout"}))
	must(t, m.Put("Invocations", 1, Count, nil))
	if err := m.Flush(); err != nil {
		t.Fatal(err)
	}

	got := lines(t, &buf)
	if len(got) != 3 {
		t.Fatalf("Flush wrote %d documents, want 3 (one per dimension set):\n%s", len(got), buf.String())
	}
	byDims := map[string]map[string]any{}
	for _, l := range got {
		doc := checkEMF(t, l)
		dims := doc["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)["Dimensions"].([]any)[0]
		byDims[fmt.Sprint(dims)] = doc
		if ts := doc["_aws"].(map[string]any)["Timestamp"].(json.Number).String(); ts != "1764112019123" {
			t.Errorf("Timestamp = %s, want 1764112019123", ts)
		}
	}
	p := byDims["[App Env]"]
	if p == nil {
		t.Fatalf("no document for dimensions [App Env]; got %v", byDims)
	}
	if p["Env"] != "prod" || p["App"] != "checkout" {
		t.Errorf("dimension values = %v/%v, want checkout/prod", p["App"], p["Env"])
	}
	if lt := fmt.Sprint(p["LeadTime"]); lt != "[3600 7200]" {
		t.Errorf("LeadTime = %s, want both values [3600 7200]", lt)
	}
	if _, ok := byDims["[]"]; !ok {
		t.Errorf("metric without dimensions missing: %v", byDims)
	}

	buf.Reset()
	if err := m.Flush(); err != nil || buf.Len() != 0 {
		t.Errorf("second Flush wrote %q (err %v), want nothing: the buffer is emptied", buf.String(), err)
	}
}

func TestMetricsSplitsAtSpecificationLimits(t *testing.T) {
	var buf bytes.Buffer
	m := NewMetrics(&buf, "Highway")
	for i := range 150 {
		must(t, m.Put(fmt.Sprintf("M%03d", i), 1, Count, nil))
	}
	for i := range 250 {
		must(t, m.Put("Latency", float64(i), Milliseconds, Dimensions{"Fn": "gate"}))
	}
	must(t, m.Flush())
	got := lines(t, &buf)
	metrics, values := 0, 0
	for _, l := range got {
		doc := checkEMF(t, l)
		metrics += len(doc["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)["Metrics"].([]any))
		if v, ok := doc["Latency"].([]any); ok {
			values += len(v)
		} else if _, ok := doc["Latency"]; ok {
			values++
		}
	}
	// 150 metrics → 2 documents; 250 values → 3 documents of ≤100 values.
	if len(got) != 5 {
		t.Errorf("documents = %d, want 5", len(got))
	}
	if values != 250 {
		t.Errorf("Latency values written = %d, want all 250", values)
	}
	if metrics != 150+3 {
		t.Errorf("metric definitions = %d, want 153", metrics)
	}
}

func TestMetricsPutRejectsInvalid(t *testing.T) {
	many := Dimensions{}
	for i := range 31 {
		many[fmt.Sprintf("D%d", i)] = "x"
	}
	tests := []struct {
		name string
		give func(m *Metrics) error
		want string
	}{
		{"empty name", func(m *Metrics) error { return m.Put("", 1, Count, nil) }, "metric name"},
		{"too many dimensions", func(m *Metrics) error { return m.Put("X", 1, Count, many) }, "31 dimensions"},
		{"empty dimension value", func(m *Metrics) error { return m.Put("X", 1, Count, Dimensions{"App": ""}) }, "empty value"},
		{"dimension named like metric", func(m *Metrics) error { return m.Put("App", 1, Count, Dimensions{"App": "a"}) }, "same name"},
		{"unit changes", func(m *Metrics) error {
			_ = m.Put("X", 1, Count, nil)
			return m.Put("X", 1, Seconds, nil)
		}, "unit Seconds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.give(NewMetrics(&bytes.Buffer{}, "Highway"))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Put() error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
