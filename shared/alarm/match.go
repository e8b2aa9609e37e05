package alarm

import (
	"context"
	"fmt"
	"maps"
	"path"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"

	"github.com/highwayhq/highway/shared/policy"
)

// Runbooks returns the policy's runbooks that match the alarm, in policy
// order. A runbook matches when the alarm is in its environment's account and
// region (an alarm elsewhere never acts on it, however loose a name pattern),
// and meets every part of its match that is set: a name pattern, every tag
// (read through tags, only when a runbook that passed the other parts needs
// them) and the metric (namespace, name, and dimension value patterns; some
// metric of the alarm must meet it). Without an alarms section, nothing
// matches.
func Runbooks(ctx context.Context, p *policy.Policy, s StateChange, tags func(context.Context) (map[string]string, error)) ([]*policy.Runbook, error) {
	if p.Alarms == nil {
		return nil, nil
	}
	var (
		out    []*policy.Runbook
		have   map[string]string
		loaded bool
	)
	for i := range p.Alarms.Runbooks {
		rb := &p.Alarms.Runbooks[i]
		if !inEnvironment(p, rb, s) || !namedBy(rb.Match.Names, s.Name) || !measures(rb.Match.Metric, s.Metrics) {
			continue
		}
		if len(rb.Match.Tags) > 0 {
			if !loaded {
				var err error
				if have, err = tags(ctx); err != nil {
					return nil, fmt.Errorf("tags of alarm %s: %w", s.Name, err)
				}
				loaded = true
			}
			if !hasTags(have, rb.Match.Tags) {
				continue
			}
		}
		out = append(out, rb)
	}
	return out, nil
}

func inEnvironment(p *policy.Policy, rb *policy.Runbook, s StateChange) bool {
	app, ok := p.App(rb.App)
	if !ok {
		return false
	}
	env, ok := app.Environment(rb.Env)
	return ok && env.Account == s.Account && env.Region == s.Region
}

func namedBy(patterns []string, name string) bool {
	if len(patterns) == 0 {
		return true
	}
	for _, p := range patterns {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

func measures(m *policy.MetricMatch, metrics []Metric) bool {
	if m == nil {
		return true
	}
	for _, got := range metrics {
		if got.Namespace != m.Namespace || m.Name != "" && got.Name != m.Name {
			continue
		}
		ok := true
		for k, pattern := range m.Dimensions {
			v, has := got.Dimensions[k]
			if match, _ := path.Match(pattern, v); !has || !match {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func hasTags(have, want map[string]string) bool {
	for k, v := range want {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// TagLister reads an alarm's tags (CloudWatch).
type TagLister interface {
	ListTagsForResource(ctx context.Context, params *cloudwatch.ListTagsForResourceInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.ListTagsForResourceOutput, error)
}

var _ TagLister = (*cloudwatch.Client)(nil)

// Tags reads alarms' tags and keeps them for a while: an alarm storm reads
// each alarm's tags once per TTL. Safe for concurrent use.
type Tags struct {
	clients func(account, region string) TagLister
	ttl     time.Duration
	now     func() time.Time

	mu    sync.Mutex
	cache map[string]tagEntry // by alarm ARN
}

type tagEntry struct {
	tags map[string]string
	at   time.Time
}

// DefaultTagTTL is how long NewTags keeps an alarm's tags when given no TTL.
const DefaultTagTTL = 5 * time.Minute

// NewTags returns a cache over the CloudWatch clients of each account and
// region, keeping tags for ttl (DefaultTagTTL when zero).
func NewTags(clients func(account, region string) TagLister, ttl time.Duration, now func() time.Time) *Tags {
	if ttl <= 0 {
		ttl = DefaultTagTTL
	}
	if now == nil {
		now = time.Now
	}
	return &Tags{clients: clients, ttl: ttl, now: now, cache: map[string]tagEntry{}}
}

// For returns the tag reader of one alarm, for Runbooks.
func (t *Tags) For(s StateChange) func(context.Context) (map[string]string, error) {
	return func(ctx context.Context) (map[string]string, error) { return t.Of(ctx, s) }
}

// Of returns the alarm's tags, from the cache when fresh. A failed read is
// not cached.
func (t *Tags) Of(ctx context.Context, s StateChange) (map[string]string, error) {
	t.mu.Lock()
	e, ok := t.cache[s.ARN]
	t.mu.Unlock()
	if ok && t.now().Sub(e.at) < t.ttl {
		return maps.Clone(e.tags), nil
	}
	out, err := t.clients(s.Account, s.Region).ListTagsForResource(ctx, &cloudwatch.ListTagsForResourceInput{ResourceARN: aws.String(s.ARN)})
	if err != nil {
		return nil, err
	}
	tags := make(map[string]string, len(out.Tags))
	for _, tag := range out.Tags {
		tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	t.mu.Lock()
	t.cache[s.ARN] = tagEntry{tags: tags, at: t.now()}
	t.mu.Unlock()
	return maps.Clone(tags), nil
}
