// Package alarm reads CloudWatch's "CloudWatch Alarm State Change" events and
// finds the policy's runbooks for an alarm: by name pattern, by the alarm's
// tags (read with ListTagsForResource, cached) and by metric.
package alarm

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
)

// DetailTypeStateChange is the detail type of CloudWatch's alarm state change events.
const DetailTypeStateChange = "CloudWatch Alarm State Change"

// Alarm states.
const (
	StateAlarm            = "ALARM"
	StateOK               = "OK"
	StateInsufficientData = "INSUFFICIENT_DATA"
)

// The values of actionsSuppressedBy: why CloudWatch suppresses a composite
// alarm's actions (CompositeAlarm.ActionsSuppressedBy in the CloudWatch API).
const (
	// SuppressedByWaitPeriod: the composite alarm waits, up to its
	// ActionsSuppressorWaitPeriod, for its suppressor alarm to go into ALARM.
	SuppressedByWaitPeriod = "WaitPeriod"
	// SuppressedByExtensionPeriod: the suppressor alarm left ALARM, and the
	// composite alarm waits up to its ActionsSuppressorExtensionPeriod.
	SuppressedByExtensionPeriod = "ExtensionPeriod"
	// SuppressedByAlarm: the suppressor alarm is in ALARM.
	SuppressedByAlarm = "Alarm"
)

// stateTimeLayout is how the event writes a state's timestamp.
const stateTimeLayout = "2006-01-02T15:04:05.000-0700"

// ErrNotAlarmEvent marks an event that is not an alarm state change.
var ErrNotAlarmEvent = errors.New("alarm: not a CloudWatch Alarm State Change event")

// Metric is the metric a metric alarm watches.
type Metric struct {
	Namespace  string            `json:"namespace"`
	Name       string            `json:"name"`
	Dimensions map[string]string `json:"dimensions,omitempty"`
}

// StateChange is one alarm state change, as the event tells it.
type StateChange struct {
	// ARN, Name, Account and Region identify the alarm.
	ARN     string `json:"arn"`
	Name    string `json:"name"`
	Account string `json:"account"`
	Region  string `json:"region"`
	// State and Previous are the new and the former state values (ALARM, OK,
	// INSUFFICIENT_DATA); Reason says why the state changed.
	State    string `json:"state"`
	Previous string `json:"previous"`
	Reason   string `json:"reason"`
	// StateTime is when the alarm entered State; StateStamp is the event's
	// own text for it, exact to the millisecond, for idempotency keys.
	StateTime  time.Time `json:"stateTime"`
	StateStamp string    `json:"stateStamp"`
	// Description is the alarm's description.
	Description string `json:"description,omitempty"`
	// Metrics are the metrics of a metric alarm (one, or those of a metric
	// math expression); none for a composite alarm.
	Metrics []Metric `json:"metrics,omitempty"`
	// Rule is a composite alarm's rule; empty for a metric alarm.
	Rule string `json:"rule,omitempty"`
	// ActionsSuppressor is a composite alarm's suppressor alarm, if it has one.
	ActionsSuppressor string `json:"actionsSuppressor,omitempty"`
	// ActionsSuppressedBy says that CloudWatch suppresses the alarm's actions
	// in State, and why (SuppressedByWaitPeriod, SuppressedByExtensionPeriod,
	// SuppressedByAlarm); empty when it does not. ActionsSuppressedReason
	// says it in words.
	ActionsSuppressedBy     string `json:"actionsSuppressedBy,omitempty"`
	ActionsSuppressedReason string `json:"actionsSuppressedReason,omitempty"`
}

// Composite says the alarm is a composite alarm.
func (s StateChange) Composite() bool { return s.Rule != "" }

// Suppressed says whether CloudWatch suppresses the alarm's actions in this
// state and, if so, why, in one line: a value of actionsSuppressedBy that
// CloudWatch may add later counts as a suppression too.
func (s StateChange) Suppressed() (string, bool) {
	if s.ActionsSuppressedBy == "" {
		return "", false
	}
	why := "actions suppressed by " + s.ActionsSuppressedBy
	if s.ActionsSuppressor != "" {
		why += " (suppressor alarm " + s.ActionsSuppressor + ")"
	}
	if r := s.ActionsSuppressedReason; r != "" && !strings.EqualFold(r, "Actions suppressed by "+s.ActionsSuppressedBy) {
		why += ": " + r
	}
	return why, true
}

// Key identifies the transition, the same for every delivery of its event:
// alarm ARN, new state and the state's timestamp.
func (s StateChange) Key() string { return s.ARN + "|" + s.State + "|" + s.StateStamp }

// detail is the event's detail as CloudWatch writes it.
type detail struct {
	AlarmName     string `json:"alarmName"`
	State         state  `json:"state"`
	PreviousState state  `json:"previousState"`
	Configuration struct {
		Description       string `json:"description"`
		AlarmRule         string `json:"alarmRule"`
		ActionsSuppressor string `json:"actionsSuppressor"`
		Metrics           []struct {
			MetricStat *struct {
				Metric Metric `json:"metric"`
			} `json:"metricStat"`
		} `json:"metrics"`
	} `json:"configuration"`
}

type state struct {
	Value     string `json:"value"`
	Reason    string `json:"reason"`
	Timestamp string `json:"timestamp"`
	// A composite alarm's state says when CloudWatch suppresses its actions.
	ActionsSuppressedBy     string `json:"actionsSuppressedBy"`
	ActionsSuppressedReason string `json:"actionsSuppressedReason"`
}

// Decode reads an alarm state change event. It fails on another kind of event
// (wrapping ErrNotAlarmEvent), and on one that lacks the alarm's ARN, name,
// state or state timestamp.
func Decode(ev events.CloudWatchEvent) (StateChange, error) {
	if ev.Source != "aws.cloudwatch" || ev.DetailType != DetailTypeStateChange {
		return StateChange{}, fmt.Errorf("%w: source %q, detail-type %q", ErrNotAlarmEvent, ev.Source, ev.DetailType)
	}
	var d detail
	if err := json.Unmarshal(ev.Detail, &d); err != nil {
		return StateChange{}, fmt.Errorf("alarm: decode detail: %w", err)
	}
	s := StateChange{
		Name: d.AlarmName, Account: ev.AccountID, Region: ev.Region,
		State: d.State.Value, Previous: d.PreviousState.Value, Reason: d.State.Reason, StateStamp: d.State.Timestamp,
		Description: d.Configuration.Description, Rule: d.Configuration.AlarmRule,
		ActionsSuppressor:   d.Configuration.ActionsSuppressor,
		ActionsSuppressedBy: d.State.ActionsSuppressedBy, ActionsSuppressedReason: d.State.ActionsSuppressedReason,
	}
	for _, r := range ev.Resources {
		if a, err := arn.Parse(r); err == nil && a.Service == "cloudwatch" && strings.HasPrefix(a.Resource, "alarm:") {
			s.ARN = r
			break
		}
	}
	for _, m := range d.Configuration.Metrics {
		if m.MetricStat != nil {
			s.Metrics = append(s.Metrics, m.MetricStat.Metric)
		}
	}
	var missing []string
	for _, f := range []struct{ name, v string }{{"alarm ARN", s.ARN}, {"alarmName", s.Name}, {"state.value", s.State}, {"state.timestamp", s.StateStamp}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return StateChange{}, fmt.Errorf("alarm: event %s lacks %s", ev.ID, strings.Join(missing, ", "))
	}
	switch s.State {
	case StateAlarm, StateOK, StateInsufficientData:
	default:
		return StateChange{}, fmt.Errorf("alarm: %s: unknown state %q", s.Name, s.State)
	}
	t, err := time.Parse(stateTimeLayout, s.StateStamp)
	if err != nil {
		if t, err = time.Parse(time.RFC3339Nano, s.StateStamp); err != nil {
			return StateChange{}, fmt.Errorf("alarm: %s: state timestamp %q: %w", s.Name, s.StateStamp, err)
		}
	}
	s.StateTime = t.UTC()
	return s, nil
}
