package ledger

import (
	"cmp"
	"context"
	"slices"
	"sync"
)

// NewMemory returns a ledger held in memory, safe for concurrent use, for the demo
// and fast tests. It keeps the same items, keys and conditions as DynamoDB, and
// like DynamoDB Local it never deletes expired items; RecordOnce ignores them.
func NewMemory(opts ...Option) Ledger {
	return newBook(&memStore{items: map[string]map[string]item{}}, opts)
}

// memStore keeps items by partition and sort key. Index queries look at every
// item: fine at demo and test sizes.
type memStore struct {
	mu    sync.RWMutex
	items map[string]map[string]item
}

func (m *memStore) write(ctx context.Context, ws ...write) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, w := range ws {
		old := m.at(w.item)
		if !holds(w, old) {
			return &conditionFailed{index: i, old: old}
		}
	}
	for _, w := range ws {
		pk := stringAttr(w.item, Schema.PartitionKey)
		if m.items[pk] == nil {
			m.items[pk] = map[string]item{}
		}
		m.items[pk][stringAttr(w.item, Schema.SortKey)] = w.item
	}
	return nil
}

// at returns the item stored under the key of it, or nil.
func (m *memStore) at(it item) item {
	return m.items[stringAttr(it, Schema.PartitionKey)][stringAttr(it, Schema.SortKey)]
}

// holds evaluates w's condition against the stored item old (nil: absent), as
// DynamoDB evaluates the condition expression dynamoCondition builds.
func holds(w write, old item) bool {
	switch w.cond {
	case absent:
		return old == nil
	case absentOrExpired:
		if old == nil {
			return true
		}
		exp, ok := numberAttr(old, Schema.TTLAttribute)
		return ok && exp < w.now
	case versionIs:
		v, ok := numberAttr(old, attrVersion)
		return old != nil && ok && v == w.version
	}
	return false
}

func (m *memStore) query(ctx context.Context, q query) ([]item, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	var found []item
	match := func(it item) {
		if stringAttr(it, q.pkName) != q.pk {
			return
		}
		if sk := stringAttr(it, q.skName); q.from != "" && (sk < q.from || sk > q.to) {
			return
		}
		found = append(found, it)
	}
	if q.index == "" {
		for _, it := range m.items[q.pk] {
			match(it)
		}
	} else {
		for _, part := range m.items {
			for _, it := range part {
				match(it)
			}
		}
	}
	slices.SortFunc(found, func(a, b item) int {
		return cmp.Compare(stringAttr(a, q.skName), stringAttr(b, q.skName))
	})
	if q.newestFirst {
		slices.Reverse(found)
		for i, it := range found {
			if q.stop != nil && q.stop(it) {
				return found[:i+1], nil
			}
		}
	}
	return found, nil
}
