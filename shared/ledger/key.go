package ledger

import (
	"fmt"
	"strings"
	"time"
)

// Index names in Schema that the ledger queries.
const (
	indexByDigest = "byDigest"
	indexByEnv    = "byEnv"
	indexOpen     = "open"
)

// sortTimeLayout is RFC 3339 in UTC with a fixed nine-digit fraction. Unlike
// time.RFC3339Nano, which drops trailing zeros ("…05Z" sorts after "…05.5Z"), every
// value has the same width, so the strings sort in time order.
const sortTimeLayout = "2006-01-02T15:04:05.000000000Z"

// sortTime renders t for a sort key.
func sortTime(t time.Time) string { return t.UTC().Format(sortTimeLayout) }

// Key prefixes: a partition value says what it partitions by, so values from
// different families never collide.
const (
	prefixCommit = "commit#"
	prefixDigest = "digest#"
	prefixEnv    = "env#"
	prefixOpen   = "open#"
	prefixOnce   = "once#"
	onceSortKey  = "once"
)

// kindPartition is the table partition of a record filed without a commit.
func kindPartition(k Kind, id string) string { return string(k) + "#" + id }

// commitPartition is the table partition holding a commit's timeline.
func commitPartition(sha string) string { return prefixCommit + sha }

// digestPartition is the byDigest partition holding an artifact's timeline.
func digestPartition(digest string) string { return prefixDigest + digest }

// envPartition is the byEnv partition holding an app+env's records of one kind.
func envPartition(app, env string, k Kind) string {
	return prefixEnv + app + "#" + env + "#" + string(k)
}

// openPartition is the open partition holding the open records of one kind.
func openPartition(k Kind) string { return prefixOpen + string(k) }

// oncePartition is the table partition of the idempotency marker for key.
func oncePartition(key string) string { return prefixOnce + key }

// opener is a record that can be open; open ones go into the sparse open index.
type opener interface{ open() bool }

// keyAttributes derives every key attribute of rec's item, named as in Schema. It is
// the one place keys are made, so both implementations file records alike:
//
//   - table: pk commit#<sha> (or <kind>#<id> without a commit), sk <at>#<kind>#<id>;
//   - byDigest: digest#<digest>, same sort key, when the record has a digest;
//   - byEnv: env#<app>#<env>#<kind>, same sort key, when it has an app and env;
//   - open: open#<kind>, same sort key, while the record is open.
//
// The sort key starts with the fixed-width time, so every partition reads in time
// order and a time range is a key range.
func keyAttributes(rec Record) (map[string]string, error) {
	h := rec.RecordHeader()
	if err := validate(rec); err != nil {
		return nil, err
	}
	k := rec.kind()
	sk := sortTime(h.At) + "#" + string(k) + "#" + h.ID
	pk := kindPartition(k, h.ID)
	if h.Commit != "" {
		pk = commitPartition(h.Commit)
	}
	attrs := map[string]string{Schema.PartitionKey: pk, Schema.SortKey: sk}
	add := func(index, partition string) {
		if idx, ok := Schema.index(index); ok {
			attrs[idx.PartitionKey] = partition
			attrs[idx.SortKey] = sk
		}
	}
	if h.Digest != "" {
		add(indexByDigest, digestPartition(h.Digest))
	}
	if h.App != "" && h.Env != "" {
		add(indexByEnv, envPartition(h.App, h.Env, k))
	}
	if o, ok := rec.(opener); ok && o.open() {
		add(indexOpen, openPartition(k))
	}
	return attrs, nil
}

// validate refuses records whose keys would be empty or ambiguous.
func validate(rec Record) error {
	h := rec.RecordHeader()
	switch {
	case h.ID == "":
		return fmt.Errorf("%s: empty id: %w", rec.kind(), ErrInvalid)
	case h.At.IsZero():
		return fmt.Errorf("%s %s: zero time: %w", rec.kind(), h.ID, ErrInvalid)
	case h.At.UTC().Year() > 9999:
		return fmt.Errorf("%s %s: time %v past year 9999: %w", rec.kind(), h.ID, h.At, ErrInvalid)
	case strings.Contains(h.App, "#") || strings.Contains(h.Env, "#"):
		return fmt.Errorf("%s %s: app or env contains '#': %w", rec.kind(), h.ID, ErrInvalid)
	}
	return nil
}

// index returns the index named name.
func (s TableSchema) index(name string) (IndexSchema, bool) {
	for _, idx := range s.Indexes {
		if idx.Name == name {
			return idx, true
		}
	}
	return IndexSchema{}, false
}
