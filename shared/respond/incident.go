package respond

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/highwayhq/highway/shared/alarm"
	"github.com/highwayhq/highway/shared/ledger"
)

// IncidentID is the id of the incident an ALARM transition opens in app/env:
// the same for every delivery of its event.
func IncidentID(s alarm.StateChange, app, env string) string {
	sum := sha256.Sum256([]byte(s.Key() + "|" + app + "/" + env))
	return "inc-" + hex.EncodeToString(sum[:8])
}

// OpenIncident files the incident of an ALARM transition in app/env, once
// however often its event is delivered (created is false for a redelivery,
// which returns the stored incident). It is blamed on the environment's
// latest deployment that started within window before the alarm and did
// not itself fail: that deployment then counts as a failed change, and the
// incident carries its digest, so the artifact's timeline shows it.
func OpenIncident(ctx context.Context, l ledger.Ledger, s alarm.StateChange, app, env string, window time.Duration) (inc *ledger.Incident, created bool, err error) {
	if s.State != alarm.StateAlarm {
		return nil, false, fmt.Errorf("open incident: alarm %s is %s, not ALARM", s.Name, s.State)
	}
	inc = &ledger.Incident{Header: ledger.Header{ID: IncidentID(s, app, env), App: app, Env: env, At: s.StateTime}, Alarm: s.ARN}
	deps, err := l.Deployments(ctx, app, env, s.StateTime.Add(-window), s.StateTime.Add(time.Nanosecond))
	if err != nil {
		return nil, false, err
	}
	for i := len(deps) - 1; i >= 0; i-- {
		if d := deps[i]; d.Status != ledger.DeploymentFailure {
			inc.DeploymentID, inc.Digest = d.ID, d.Digest
			break
		}
	}
	stored, created, err := ledger.RecordOnce(ctx, l, "incident:"+s.Key()+"|"+app+"/"+env, transitionTTL, inc)
	if err != nil {
		return nil, false, fmt.Errorf("open incident %s: %w", inc.ID, err)
	}
	return stored, created, nil
}

// IncidentsToResolve returns the open incidents the alarm opened in
// app/env before it returned to OK (s), oldest first.
func IncidentsToResolve(ctx context.Context, l ledger.Ledger, s alarm.StateChange, app, env string) ([]*ledger.Incident, error) {
	if s.State != alarm.StateOK {
		return nil, fmt.Errorf("resolve incidents: alarm %s is %s, not OK", s.Name, s.State)
	}
	open, err := l.OpenIncidents(ctx)
	if err != nil {
		return nil, err
	}
	var out []*ledger.Incident
	for _, inc := range open {
		if inc.Alarm == s.ARN && inc.App == app && inc.Env == env && !inc.At.After(s.StateTime) {
			out = append(out, inc)
		}
	}
	return out, nil
}

// ResolveIncident resolves an open incident at the time its alarm returned
// to OK; its time to restore is ResolvedAt minus At. An incident another
// delivery resolved first is left as it is.
func ResolveIncident(ctx context.Context, l ledger.Ledger, inc *ledger.Incident, at time.Time) error {
	inc.ResolvedAt = at
	switch err := l.Update(ctx, inc); {
	case errors.Is(err, ledger.ErrStale):
		return nil // resolved by a concurrent delivery
	case err != nil:
		inc.ResolvedAt = time.Time{}
		return fmt.Errorf("resolve incident %s: %w", inc.ID, err)
	}
	return nil
}
