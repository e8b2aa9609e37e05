package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// File is a ledger kept in one JSON file: a hub on a laptop. The demo leaves
// its ledger in one, and the local command reads and acts on it. It keeps the
// memory ledger's items, keys and conditions, so the same contract holds.
// Every change is made under an exclusive lock on the file's folder, to what
// the file holds then (what other processes wrote included), and the file is
// replaced whole, at once: a reader sees it before or after a change, never
// half of one. Reads see the file as it was when opened or last changed
// through this ledger.
type File struct {
	Ledger
	store *fileStore
}

// OpenFile returns the ledger kept in the file at path. A file that does not
// exist yet is an empty ledger; the first change creates it.
func OpenFile(path string, opts ...Option) (*File, error) {
	s := &fileStore{path: path}
	mem, written, err := s.read()
	if err != nil {
		return nil, err
	}
	s.mem, s.written = mem, written
	b := newBook(s, opts)
	s.now = b.now
	return &File{Ledger: b, store: s}, nil
}

// Written is when the ledger was last changed, by the clock of the ledger
// that changed it (WithClock); zero for a ledger never changed. A ledger a
// scenario wrote on its own clock is as of the scenario's end.
func (f *File) Written() time.Time {
	f.store.mu.Lock()
	defer f.store.mu.Unlock()
	return f.store.written
}

// Commits returns the SHA of every commit the ledger holds records of, in
// order. A DynamoDB ledger, read by key only, cannot list them; a file can.
func (f *File) Commits() []string {
	f.store.mu.Lock()
	defer f.store.mu.Unlock()
	var shas []string
	for pk := range f.store.mem.items {
		if sha, ok := strings.CutPrefix(pk, prefixCommit); ok {
			shas = append(shas, sha)
		}
	}
	slices.Sort(shas)
	return shas
}

// fileStore keeps a memStore in a file.
type fileStore struct {
	path string
	now  func() time.Time

	mu      sync.Mutex
	mem     *memStore
	written time.Time
}

// fileContent is what the file holds: when the ledger was last changed, and
// its items in DynamoDB's JSON (as `aws dynamodb scan` prints them), ordered
// by key.
type fileContent struct {
	Written time.Time                   `json:"written,omitzero"`
	Items   []map[string]*attributeJSON `json:"items"`
}

func (s *fileStore) write(ctx context.Context, ws ...write) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	unlock, err := lockFolder(filepath.Dir(s.path))
	if err != nil {
		return fmt.Errorf("lock %s: %w", s.path, err)
	}
	defer unlock()
	// Changed where it stands now, so no other process's change is lost;
	// kept only once the file holds it.
	next, _, err := s.read()
	if err != nil {
		return err
	}
	if err := next.write(ctx, ws...); err != nil {
		return err
	}
	written := s.now().UTC()
	if err := s.save(next, written); err != nil {
		return err
	}
	s.mem, s.written = next, written
	return nil
}

func (s *fileStore) query(ctx context.Context, q query) ([]item, error) {
	s.mu.Lock()
	mem := s.mem
	s.mu.Unlock()
	return mem.query(ctx, q)
}

// read returns the items the file holds and when they were written; none
// when there is no file.
func (s *fileStore) read() (*memStore, time.Time, error) {
	mem := &memStore{items: map[string]map[string]item{}}
	raw, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return mem, time.Time{}, nil
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	var c fileContent
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, time.Time{}, fmt.Errorf("%s is not a ledger file: %w", s.path, err)
	}
	for i, j := range c.Items {
		it, err := itemFromJSON(j)
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("%s: item %d: %w", s.path, i, err)
		}
		pk, sk := stringAttr(it, Schema.PartitionKey), stringAttr(it, Schema.SortKey)
		if pk == "" || sk == "" {
			return nil, time.Time{}, fmt.Errorf("%s: item %d has no %s or %s", s.path, i, Schema.PartitionKey, Schema.SortKey)
		}
		if mem.items[pk] == nil {
			mem.items[pk] = map[string]item{}
		}
		mem.items[pk][sk] = it
	}
	return mem, c.Written, nil
}

// save replaces the file with mem's items: written to a new file in the same
// folder, synced, then renamed over the old one.
func (s *fileStore) save(mem *memStore, written time.Time) error {
	c := fileContent{Written: written, Items: []map[string]*attributeJSON{}}
	for _, pk := range slices.Sorted(maps.Keys(mem.items)) {
		for _, sk := range slices.Sorted(maps.Keys(mem.items[pk])) {
			c.Items = append(c.Items, itemToJSON(mem.items[pk][sk]))
		}
	}
	raw, err := json.MarshalIndent(c, "", " ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), filepath.Base(s.path)+".*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(append(raw, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), s.path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", s.path, err)
	}
	return nil
}

// attributeJSON is one attribute value in DynamoDB's JSON: exactly one field
// is set. Empty lists, maps and sets are kept (omitzero omits only nil ones).
type attributeJSON struct {
	S    *string                   `json:"S,omitempty"`
	N    *string                   `json:"N,omitempty"`
	B    []byte                    `json:"B,omitzero"`
	BOOL *bool                     `json:"BOOL,omitempty"`
	NULL *bool                     `json:"NULL,omitempty"`
	SS   []string                  `json:"SS,omitzero"`
	NS   []string                  `json:"NS,omitzero"`
	BS   [][]byte                  `json:"BS,omitzero"`
	M    map[string]*attributeJSON `json:"M,omitzero"`
	L    []*attributeJSON          `json:"L,omitzero"`
}

// itemToJSON renders an item in DynamoDB's JSON.
func itemToJSON(it item) map[string]*attributeJSON {
	out := make(map[string]*attributeJSON, len(it))
	for name, v := range it {
		out[name] = attributeToJSON(v)
	}
	return out
}

func attributeToJSON(v types.AttributeValue) *attributeJSON {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return &attributeJSON{S: &v.Value}
	case *types.AttributeValueMemberN:
		return &attributeJSON{N: &v.Value}
	case *types.AttributeValueMemberB:
		return &attributeJSON{B: nonNil(v.Value)}
	case *types.AttributeValueMemberBOOL:
		return &attributeJSON{BOOL: &v.Value}
	case *types.AttributeValueMemberNULL:
		return &attributeJSON{NULL: &v.Value}
	case *types.AttributeValueMemberSS:
		return &attributeJSON{SS: nonNil(v.Value)}
	case *types.AttributeValueMemberNS:
		return &attributeJSON{NS: nonNil(v.Value)}
	case *types.AttributeValueMemberBS:
		return &attributeJSON{BS: nonNil(v.Value)}
	case *types.AttributeValueMemberM:
		return &attributeJSON{M: itemToJSON(v.Value)}
	case *types.AttributeValueMemberL:
		l := make([]*attributeJSON, len(v.Value))
		for i, e := range v.Value {
			l[i] = attributeToJSON(e)
		}
		return &attributeJSON{L: l}
	}
	// The encoder makes none other; a NULL keeps the item readable.
	null := true
	return &attributeJSON{NULL: &null}
}

// nonNil is s, or an empty slice when s is nil, so that omitzero keeps it.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// itemFromJSON reads an item in DynamoDB's JSON.
func itemFromJSON(j map[string]*attributeJSON) (item, error) {
	it := make(item, len(j))
	for name, a := range j {
		v, err := a.value()
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", name, err)
		}
		it[name] = v
	}
	return it, nil
}

func (a *attributeJSON) value() (types.AttributeValue, error) {
	if a == nil {
		return nil, errors.New("null instead of a value")
	}
	var vs []types.AttributeValue
	if a.S != nil {
		vs = append(vs, &types.AttributeValueMemberS{Value: *a.S})
	}
	if a.N != nil {
		vs = append(vs, &types.AttributeValueMemberN{Value: *a.N})
	}
	if a.B != nil {
		vs = append(vs, &types.AttributeValueMemberB{Value: a.B})
	}
	if a.BOOL != nil {
		vs = append(vs, &types.AttributeValueMemberBOOL{Value: *a.BOOL})
	}
	if a.NULL != nil {
		vs = append(vs, &types.AttributeValueMemberNULL{Value: *a.NULL})
	}
	if a.SS != nil {
		vs = append(vs, &types.AttributeValueMemberSS{Value: a.SS})
	}
	if a.NS != nil {
		vs = append(vs, &types.AttributeValueMemberNS{Value: a.NS})
	}
	if a.BS != nil {
		vs = append(vs, &types.AttributeValueMemberBS{Value: a.BS})
	}
	if a.M != nil {
		m, err := itemFromJSON(a.M)
		if err != nil {
			return nil, err
		}
		vs = append(vs, &types.AttributeValueMemberM{Value: m})
	}
	if a.L != nil {
		l := make([]types.AttributeValue, len(a.L))
		for i, e := range a.L {
			v, err := e.value()
			if err != nil {
				return nil, fmt.Errorf("element %d: %w", i, err)
			}
			l[i] = v
		}
		vs = append(vs, &types.AttributeValueMemberL{Value: l})
	}
	if len(vs) != 1 {
		return nil, fmt.Errorf("%d types given, want one (S, N, B, BOOL, NULL, SS, NS, BS, M or L)", len(vs))
	}
	return vs[0], nil
}
