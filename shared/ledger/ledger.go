// Package ledger is Highway's causal timeline: one DynamoDB table holding commits,
// builds, gate decisions, artifacts, promotions, approvals, deployments, incidents,
// remediations and drift reports, keyed by commit SHA and artifact digest.
//
// Every function writes to it idempotently (RecordOnce) and refuses stale updates
// (Update); the timeline and DORA metrics are reads of it. NewDynamo stores it in
// DynamoDB, NewMemory in memory for the demo and fast tests; both share the keys,
// encoding and conditions below and differ only in the storage calls, and one
// contract suite (package ledgertest) runs against both.
package ledger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Sentinel errors, wrapped with context; test with errors.Is.
var (
	// ErrExists means a record with the same key is already stored.
	ErrExists = errors.New("ledger: record exists")
	// ErrNotFound means no record is stored under the key.
	ErrNotFound = errors.New("ledger: record not found")
	// ErrStale means the stored record's version differs from the one updated.
	ErrStale = errors.New("ledger: stale update refused")
	// ErrInvalid means a record or query lacks what its key needs.
	ErrInvalid = errors.New("ledger: invalid")
)

// Ledger records Highway's timeline and reads it back. Reads are Query or GetItem,
// never Scan. Time ranges are half-open: from is included, to is not.
type Ledger interface {
	// Put stores a new record and sets its Kind and Version (1). It fails with
	// ErrExists when a record with the same key (kind, id, commit, time) is stored:
	// it never overwrites. Use RecordOnce for writes that may be redelivered.
	Put(ctx context.Context, rec Record) error

	// RecordOnce stores rec unless key (a business key such as
	// "alarm:<arn>:<state>:<ts>") was recorded within the last ttl. The first call
	// stores rec and returns it with created true; a redelivery stores nothing and
	// returns the record stored first as it stands now (with every Update since,
	// so a handler can see which of its effects are done), with created false. ttl <= 0
	// remembers the key forever. The package function RecordOnce returns the
	// caller's concrete type.
	RecordOnce(ctx context.Context, key string, ttl time.Duration, rec Record) (stored Record, created bool, err error)

	// Update replaces a stored record if the stored version equals rec's Version,
	// then increments rec's Version. It fails with ErrStale when the versions
	// differ and ErrNotFound when nothing is stored under rec's key.
	Update(ctx context.Context, rec Record) error

	// ByCommit returns every record of a commit SHA, oldest first.
	ByCommit(ctx context.Context, sha string) ([]Record, error)

	// ByDigest returns every record of an artifact digest, oldest first.
	ByDigest(ctx context.Context, digest string) ([]Record, error)

	// Deployments returns an app+env's deployments that started in [from, to),
	// oldest first.
	Deployments(ctx context.Context, app, env string, from, to time.Time) ([]*Deployment, error)

	// Promotions returns an app+env's promotions that started in [from, to),
	// oldest first.
	Promotions(ctx context.Context, app, env string, from, to time.Time) ([]*Promotion, error)

	// Incidents returns an app+env's incidents that opened in [from, to), oldest
	// first.
	Incidents(ctx context.Context, app, env string, from, to time.Time) ([]*Incident, error)

	// OpenIncidents returns every unresolved incident, oldest first.
	OpenIncidents(ctx context.Context) ([]*Incident, error)

	// Remediations returns an app+env's remediations that ran in [from, to),
	// oldest first.
	Remediations(ctx context.Context, app, env string, from, to time.Time) ([]*Remediation, error)

	// CurrentDriftReports returns the latest drift report of every stack and
	// environment (those marked Current), oldest first.
	CurrentDriftReports(ctx context.Context) ([]*DriftReport, error)

	// Latest returns the newest record of kind k with id, among records filed
	// without a commit (baselines, for example); ErrNotFound when there is none.
	Latest(ctx context.Context, k Kind, id string) (Record, error)
}

// RecordOnce is Ledger.RecordOnce returning the caller's concrete type. A key that
// already holds a record of another kind fails with ErrExists.
func RecordOnce[T Record](ctx context.Context, l Ledger, key string, ttl time.Duration, rec T) (T, bool, error) {
	var zero T
	stored, created, err := l.RecordOnce(ctx, key, ttl, rec)
	if err != nil {
		return zero, false, err
	}
	t, ok := stored.(T)
	if !ok {
		return zero, false, fmt.Errorf("record once %s: holds a %s, not a %s: %w",
			key, stored.kind(), rec.kind(), ErrExists)
	}
	return t, created, nil
}

// CommittedAt is the author time of commit sha, from its commit record;
// zero when the ledger has none (or sha is empty).
func CommittedAt(ctx context.Context, l Ledger, sha string) (time.Time, error) {
	if sha == "" {
		return time.Time{}, nil
	}
	recs, err := l.ByCommit(ctx, sha)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return time.Time{}, fmt.Errorf("commit %s: %w", sha, err)
	}
	for _, r := range recs {
		if c, ok := r.(*Commit); ok && !c.CommittedAt.IsZero() {
			return c.CommittedAt, nil
		}
	}
	return time.Time{}, nil
}

// Option configures a ledger.
type Option func(*book)

// WithClock sets the clock that decides whether a RecordOnce key has expired
// (default time.Now). Tests pass a fake to move time on.
func WithClock(now func() time.Time) Option {
	return func(b *book) { b.now = now }
}

// condition is what a write requires of the item it replaces.
type condition int

const (
	// absent: no item under the key.
	absent condition = iota
	// absentOrExpired: no item, or one whose expiry is before write.now.
	absentOrExpired
	// versionIs: an item whose version is write.version.
	versionIs
)

// write is one conditional put.
type write struct {
	item    item
	cond    condition
	now     int64 // epoch seconds, for absentOrExpired
	version int64 // for versionIs
}

// conditionFailed reports the first write of a batch whose condition failed, and
// the item stored under its key (nil: none).
type conditionFailed struct {
	index int
	old   item
}

func (e *conditionFailed) Error() string {
	return fmt.Sprintf("condition of write %d failed", e.index)
}

// store is the storage a ledger needs: conditional writes that report what they
// found, and key-range queries. Memory and DynamoDB implement it; all the ledger's
// logic lives in book, above it.
type store interface {
	// write applies every put or none; a failed condition is *conditionFailed.
	write(ctx context.Context, ws ...write) error
	// query returns the items of one partition of the table or an index, in sort
	// key order, optionally limited to sort keys in [from, to]; with
	// q.newestFirst, in the reverse order, up to the first item q.stop takes.
	query(ctx context.Context, q query) ([]item, error)
}

// query selects one partition of the table (index "") or of an index.
type query struct {
	index            string
	pkName, pk       string
	skName, from, to string // both empty: the whole partition
	// newestFirst reads in descending sort key order, a few items at a time,
	// and stops at the first item stop reports true for: what a read of the
	// latest record costs then depends on how far back it lies, not on the
	// partition's size.
	newestFirst bool
	stop        func(item) bool
}

// newestPage is how many items a newest-first read asks for at a time.
const newestPage = 10

// book implements Ledger over a store.
type book struct {
	store store
	now   func() time.Time
}

func newBook(s store, opts []Option) *book {
	b := &book{store: s, now: time.Now}
	for _, o := range opts {
		o(b)
	}
	return b
}

// prepare fills the fields the ledger owns before a first write.
func prepare(rec Record) {
	h := rec.RecordHeader()
	h.Kind = rec.kind()
	h.At = h.At.UTC()
	h.Version = 1
}

func (b *book) Put(ctx context.Context, rec Record) error {
	prepare(rec)
	it, err := encode(rec)
	if err != nil {
		return err
	}
	err = b.store.write(ctx, write{item: it, cond: absent})
	if _, ok := errors.AsType[*conditionFailed](err); ok {
		err = ErrExists
	}
	if err != nil {
		return fmt.Errorf("put %s %s: %w", rec.kind(), rec.RecordHeader().ID, err)
	}
	return nil
}

func (b *book) RecordOnce(ctx context.Context, key string, ttl time.Duration, rec Record) (Record, bool, error) {
	if key == "" {
		return nil, false, fmt.Errorf("record once: empty key: %w", ErrInvalid)
	}
	prepare(rec)
	it, err := encode(rec)
	if err != nil {
		return nil, false, err
	}
	now := b.now()
	var expires time.Time
	if ttl > 0 {
		expires = now.Add(ttl)
	}
	marker := onceItem(key, it, expires)
	err = b.store.write(ctx,
		write{item: marker, cond: absentOrExpired, now: now.Unix()},
		write{item: it, cond: absent},
	)
	if err == nil {
		return rec, true, nil
	}
	failed, ok := errors.AsType[*conditionFailed](err)
	if !ok || failed.old == nil {
		return nil, false, fmt.Errorf("record once %s: %w", key, err)
	}
	// The key is live (write 0), or it expired but the record it would store is
	// already there (write 1): either way this is a redelivery.
	stored, err := decode(failed.old)
	if failed.index == 0 {
		stored, err = b.current(ctx, failed.old)
	}
	if err != nil {
		return nil, false, fmt.Errorf("record once %s: %w", key, err)
	}
	return stored, false, nil
}

// current returns the record a live marker points to as it stands now, with
// every Update since; the marker's own copy is as it was first written, and is
// the answer only if the record itself is gone.
func (b *book) current(ctx context.Context, marker item) (Record, error) {
	first, ok := marker[attrRecord].(*types.AttributeValueMemberM)
	if !ok {
		return nil, fmt.Errorf("decode marker: no %s attribute", attrRecord)
	}
	pk, sk := stringAttr(first.Value, Schema.PartitionKey), stringAttr(first.Value, Schema.SortKey)
	items, err := b.store.query(ctx, query{pkName: Schema.PartitionKey, pk: pk, skName: Schema.SortKey, from: sk, to: sk})
	if err != nil {
		return nil, err
	}
	if len(items) == 1 {
		return decode(items[0])
	}
	return decode(first.Value)
}

func (b *book) Update(ctx context.Context, rec Record) error {
	h := rec.RecordHeader()
	h.Kind = rec.kind()
	h.At = h.At.UTC()
	expected := h.Version
	h.Version = expected + 1
	it, err := encode(rec)
	if err != nil {
		h.Version = expected
		return err
	}
	err = b.store.write(ctx, write{item: it, cond: versionIs, version: expected})
	if err == nil {
		return nil
	}
	h.Version = expected
	if failed, ok := errors.AsType[*conditionFailed](err); ok {
		err = ErrStale
		if failed.old == nil {
			err = ErrNotFound
		}
	}
	return fmt.Errorf("update %s %s: %w", rec.kind(), h.ID, err)
}

func (b *book) ByCommit(ctx context.Context, sha string) ([]Record, error) {
	if sha == "" {
		return nil, fmt.Errorf("by commit: empty sha: %w", ErrInvalid)
	}
	recs, err := b.read(ctx, query{
		pkName: Schema.PartitionKey, pk: commitPartition(sha), skName: Schema.SortKey,
	})
	if err != nil {
		return nil, fmt.Errorf("by commit %s: %w", sha, err)
	}
	return recs, nil
}

func (b *book) ByDigest(ctx context.Context, digest string) ([]Record, error) {
	if digest == "" {
		return nil, fmt.Errorf("by digest: empty digest: %w", ErrInvalid)
	}
	recs, err := b.readIndex(ctx, indexByDigest, digestPartition(digest), "", "")
	if err != nil {
		return nil, fmt.Errorf("by digest %s: %w", digest, err)
	}
	return recs, nil
}

func (b *book) Deployments(ctx context.Context, app, env string, from, to time.Time) ([]*Deployment, error) {
	recs, err := b.inEnv(ctx, app, env, KindDeployment, from, to)
	if err != nil {
		return nil, fmt.Errorf("deployments %s/%s: %w", app, env, err)
	}
	return only[*Deployment](recs)
}

func (b *book) Promotions(ctx context.Context, app, env string, from, to time.Time) ([]*Promotion, error) {
	recs, err := b.inEnv(ctx, app, env, KindPromotion, from, to)
	if err != nil {
		return nil, fmt.Errorf("promotions %s/%s: %w", app, env, err)
	}
	return only[*Promotion](recs)
}

func (b *book) Incidents(ctx context.Context, app, env string, from, to time.Time) ([]*Incident, error) {
	recs, err := b.inEnv(ctx, app, env, KindIncident, from, to)
	if err != nil {
		return nil, fmt.Errorf("incidents %s/%s: %w", app, env, err)
	}
	return only[*Incident](recs)
}

func (b *book) Remediations(ctx context.Context, app, env string, from, to time.Time) ([]*Remediation, error) {
	recs, err := b.inEnv(ctx, app, env, KindRemediation, from, to)
	if err != nil {
		return nil, fmt.Errorf("remediations %s/%s: %w", app, env, err)
	}
	return only[*Remediation](recs)
}

func (b *book) OpenIncidents(ctx context.Context) ([]*Incident, error) {
	recs, err := b.readIndex(ctx, indexOpen, openPartition(KindIncident), "", "")
	if err != nil {
		return nil, fmt.Errorf("open incidents: %w", err)
	}
	return only[*Incident](recs)
}

func (b *book) Latest(ctx context.Context, k Kind, id string) (Record, error) {
	if id == "" {
		return nil, fmt.Errorf("latest %s: empty id: %w", k, ErrInvalid)
	}
	// The partition of a kind named like a key prefix (commit#<sha>) also holds
	// other records: take only this kind and id, newest first.
	var latest Record
	var undecodable error
	_, err := b.store.query(ctx, query{pkName: Schema.PartitionKey, pk: kindPartition(k, id), skName: Schema.SortKey,
		newestFirst: true, stop: func(it item) bool {
			rec, err := decode(it)
			if err != nil {
				undecodable = err
				return true
			}
			if h := rec.RecordHeader(); h.Kind == k && h.ID == id && h.Commit == "" {
				latest = rec
				return true
			}
			return false
		}})
	if err == nil {
		err = undecodable
	}
	if err != nil {
		return nil, fmt.Errorf("latest %s %s: %w", k, id, err)
	}
	if latest == nil {
		return nil, fmt.Errorf("latest %s %s: %w", k, id, ErrNotFound)
	}
	return latest, nil
}

func (b *book) CurrentDriftReports(ctx context.Context) ([]*DriftReport, error) {
	recs, err := b.readIndex(ctx, indexOpen, openPartition(KindDriftReport), "", "")
	if err != nil {
		return nil, fmt.Errorf("current drift reports: %w", err)
	}
	return only[*DriftReport](recs)
}

// inEnv reads an app+env's records of kind k in [from, to).
func (b *book) inEnv(ctx context.Context, app, env string, k Kind, from, to time.Time) ([]Record, error) {
	if app == "" || env == "" {
		return nil, fmt.Errorf("empty app or env: %w", ErrInvalid)
	}
	if !from.Before(to) {
		return nil, nil
	}
	// Every sort key is "<time>#...", longer than a bare time, so the inclusive
	// range [from, to] over bare times selects exactly the times in [from, to).
	return b.readIndex(ctx, indexByEnv, envPartition(app, env, k), sortTime(from), sortTime(to))
}

func (b *book) read(ctx context.Context, q query) ([]Record, error) {
	items, err := b.store.query(ctx, q)
	if err != nil {
		return nil, err
	}
	return decodeAll(items)
}

// readIndex reads partition pk of the named index, limited to sort keys in
// [from, to] unless both are empty.
func (b *book) readIndex(ctx context.Context, name, pk, from, to string) ([]Record, error) {
	idx, ok := Schema.index(name)
	if !ok {
		return nil, fmt.Errorf("schema has no index %q", name)
	}
	return b.read(ctx, query{
		index: idx.Name, pkName: idx.PartitionKey, pk: pk,
		skName: idx.SortKey, from: from, to: to,
	})
}

// only converts records a query of one kind returned to their concrete type.
func only[T Record](recs []Record) ([]T, error) {
	out := make([]T, 0, len(recs))
	for _, r := range recs {
		t, ok := r.(T)
		if !ok {
			return nil, fmt.Errorf("unexpected %s %s in %T query", r.kind(), r.RecordHeader().ID, out)
		}
		out = append(out, t)
	}
	return out, nil
}
