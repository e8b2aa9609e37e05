package policy

import (
	"encoding/json"
	"time"
)

// durationText is a duration that encodes as text like "15m0s". encoding/json
// writes a time.Duration as integer nanoseconds, which the policy's YAML
// decoder refuses, so the durations of the JSON form functions load are text.
type durationText time.Duration

// MarshalText writes the duration as time.Duration.String does.
func (d durationText) MarshalText() ([]byte, error) {
	return []byte(time.Duration(d).String()), nil
}

// MarshalJSON writes the budgets as text that Parse reads back.
func (s SlowTestsCheck) MarshalJSON() ([]byte, error) {
	type plain SlowTestsCheck
	return json.Marshal(struct {
		plain
		SuiteBudget durationText `json:"suiteBudget,omitempty"`
		TestBudget  durationText `json:"testBudget,omitempty"`
	}{plain(s), durationText(s.SuiteBudget), durationText(s.TestBudget)})
}

// MarshalJSON writes MinDuration as text that Parse reads back.
func (r Regression) MarshalJSON() ([]byte, error) {
	type plain Regression
	return json.Marshal(struct {
		plain
		MinDuration durationText `json:"minDuration,omitempty"`
	}{plain(r), durationText(r.MinDuration)})
}
