package policy

import (
	"cmp"
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// checker walks the YAML tree of a policy against the Go types that hold it,
// remembers where every value sits, and collects problems with their positions.
// The shape of the file comes from the struct tags alone: a `yaml` tag names the
// key and `policy:"required"` makes it mandatory, so a new section needs only a
// new field.
type checker struct {
	file   string
	values map[string]*yaml.Node // value node by path
	keys   map[string]*yaml.Node // key node by path, for mapping entries
	broken map[string]bool       // paths whose shape is wrong; checks skip them
	errs   Errors
}

func newChecker(file string) *checker {
	return &checker{
		file:   file,
		values: map[string]*yaml.Node{},
		keys:   map[string]*yaml.Node{},
		broken: map[string]bool{},
	}
}

// field is one key a section accepts, read from the struct tags of its Go type.
type field struct {
	key      string
	typ      reflect.Type
	required bool
}

// fieldsOf lists the keys of struct type t, following `yaml:",inline"` fields.
func fieldsOf(t reflect.Type) []field {
	var fs []field
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() && !sf.Anonymous {
			continue
		}
		name, opts, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if slices.Contains(strings.Split(opts, ","), "inline") {
			fs = append(fs, fieldsOf(sf.Type)...)
			continue
		}
		if name == "" {
			name = strings.ToLower(sf.Name)
		}
		required := slices.Contains(strings.Split(sf.Tag.Get("policy"), ","), "required")
		fs = append(fs, field{key: name, typ: sf.Type, required: required})
	}
	return fs
}

var (
	durationType    = reflect.TypeFor[time.Duration]()
	yamlUnmarshaler = reflect.TypeFor[yaml.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// custom reports whether t decodes itself with UnmarshalYAML or UnmarshalText;
// the walk then asks it, rather than the struct tags, whether a value is good.
func custom(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	return t.Implements(yamlUnmarshaler) || p.Implements(yamlUnmarshaler) ||
		t.Implements(textUnmarshaler) || p.Implements(textUnmarshaler)
}

// walk checks that node n has the shape Go type t wants, at path.
func (c *checker) walk(n *yaml.Node, t reflect.Type, path string) {
	n = resolve(n)
	if custom(t) {
		if err := n.Decode(reflect.New(t).Interface()); err != nil {
			c.broken[path] = true
			c.add(n, path, "%s", decodeMessage(err))
		}
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		if !isNull(n) {
			c.walk(n, t.Elem(), path)
		}
	case reflect.Interface:
	case reflect.Struct:
		c.section(n, t, path)
	case reflect.Slice, reflect.Array:
		c.sequence(n, t, path)
	case reflect.Map:
		c.mapping(n, t, path)
	default:
		c.scalar(n, t, path)
	}
}

// section checks a mapping decoded into struct type t: no unknown or duplicate
// keys, every required key present, every value of the right shape.
func (c *checker) section(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind != yaml.MappingNode {
		c.wrongType(n, path, "a mapping")
		return
	}
	fields := fieldsOf(t)
	seen := map[string]bool{}
	suggested := map[string]bool{}
	for _, kv := range c.pairs(n, path) {
		f := lookup(fields, kv.key.Value)
		if f == nil {
			if s := suggest(kv.key.Value, fields); s != "" {
				c.add(kv.key, path, "unknown key %q (did you mean %q?)", kv.key.Value, s)
				suggested[s] = true
			} else {
				c.add(kv.key, path, "unknown key %q", kv.key.Value)
			}
			continue
		}
		seen[f.key] = true
		child := join(path, f.key)
		c.record(child, kv.key, kv.value)
		if isNull(resolve(kv.value)) {
			if f.required {
				c.add(kv.key, child, "missing value")
				c.broken[child] = true
			}
			continue
		}
		c.walk(kv.value, f.typ, child)
	}
	for _, f := range fields {
		if suggested[f.key] && !seen[f.key] {
			// The misspelt key's message names this one: checks of its
			// absence would say the same again.
			c.broken[join(path, f.key)] = true
		}
		if f.required && !seen[f.key] {
			c.broken[join(path, f.key)] = true
			if suggested[f.key] {
				// The misspelt key's message already names this one.
				continue
			}
			at := n
			if k := c.keys[path]; k != nil {
				at = k
			}
			c.add(at, path, "missing required key %q", f.key)
		}
	}
}

// sequence checks a list decoded into slice type t, item by item.
func (c *checker) sequence(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind != yaml.SequenceNode {
		c.wrongType(n, path, "a sequence")
		return
	}
	for i, item := range n.Content {
		p := fmt.Sprintf("%s[%d]", path, i)
		c.record(p, nil, item)
		c.walk(item, t.Elem(), p)
	}
}

// mapping checks a mapping decoded into map type t, whose keys are free.
func (c *checker) mapping(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind != yaml.MappingNode {
		c.wrongType(n, path, "a mapping")
		return
	}
	for _, kv := range c.pairs(n, path) {
		child := path + mapKey(kv.key.Value)
		c.record(child, kv.key, kv.value)
		c.walk(kv.value, t.Elem(), child)
	}
}

// scalar checks a single value against a string, number or boolean type.
func (c *checker) scalar(n *yaml.Node, t reflect.Type, path string) {
	var want string
	var ok bool
	tag := n.ShortTag()
	switch {
	case t == durationType:
		// The decoder reads only text like "90s" as a duration; it refuses a
		// bare integer.
		_, err := time.ParseDuration(n.Value)
		want, ok = "a duration like 90s", tag == "!!str" && err == nil
	case t.Kind() == reflect.String:
		want, ok = "a string", tag == "!!str"
	case t.Kind() == reflect.Bool:
		want, ok = "a boolean", tag == "!!bool"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		want, ok = "an integer", tag == "!!int"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		want, ok = "a number", tag == "!!int" || tag == "!!float"
	default:
		// Channels and functions cannot come from YAML; the decoder reports them.
		return
	}
	if n.Kind != yaml.ScalarNode || !ok {
		c.wrongType(n, path, want)
	}
}

// wrongType reports that the value at path is not what its field wants.
func (c *checker) wrongType(n *yaml.Node, path, want string) {
	c.broken[path] = true
	got := describe(n)
	if want == "a string" && n.Kind == yaml.ScalarNode && n.Style == 0 && got != "null" {
		c.add(n, path, "want a string, got %s (YAML reads an unquoted %s as %s); quote it: %q",
			got, n.Value, got, n.Value)
		return
	}
	if n.Kind == yaml.ScalarNode && got != "null" {
		c.add(n, path, "want %s, got %s (%q)", want, got, n.Value)
		return
	}
	c.add(n, path, "want %s, got %s", want, got)
}

// describe names the kind of node n for messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a sequence"
	}
	switch tag := n.ShortTag(); tag {
	case "!!str":
		return "a string"
	case "!!int", "!!float":
		return "a number"
	case "!!bool":
		return "a boolean"
	case "!!null":
		return "null"
	case "!!timestamp":
		return "a date"
	case "!!binary":
		return "binary data"
	default:
		return "a value tagged " + tag
	}
}

// pair is one key and its value in a mapping.
type pair struct{ key, value *yaml.Node }

// pairs lists the entries of mapping n, reporting duplicate and non-string keys
// and expanding merge keys (<<) the way the decoder does: explicit keys win.
// Repeated keys are dropped from n, so the decoder, which stops at the first
// repeat, still decodes the rest and the checks can run on it.
func (c *checker) pairs(n *yaml.Node, path string) []pair {
	var out, merged []pair
	first := map[string]*yaml.Node{}
	kept := n.Content[:0]
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merged = append(merged, c.merge(v, path)...)
			kept = append(kept, k, v)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			c.add(k, path, "want a key, got %s", describe(k))
			kept = append(kept, k, v)
			continue
		}
		if prev, dup := first[k.Value]; dup {
			c.add(k, path, "duplicate key %q (first at line %d)", k.Value, prev.Line)
			c.broken[join(path, k.Value)] = true
			continue
		}
		first[k.Value] = k
		out = append(out, pair{k, v})
		kept = append(kept, k, v)
	}
	n.Content = kept
	for _, kv := range merged {
		if _, ok := first[kv.key.Value]; !ok {
			first[kv.key.Value] = kv.key
			out = append(out, kv)
		}
	}
	return out
}

// merge lists the entries a merge key brings in: a mapping or a list of them.
func (c *checker) merge(v *yaml.Node, path string) []pair {
	v = resolve(v)
	switch v.Kind {
	case yaml.MappingNode:
		return c.pairs(v, path)
	case yaml.SequenceNode:
		var out []pair
		for _, m := range v.Content {
			if m = resolve(m); m.Kind != yaml.MappingNode {
				c.add(m, path, "merge key << wants mappings, got %s", describe(m))
				continue
			}
			out = append(out, c.pairs(m, path)...)
		}
		return out
	}
	c.add(v, path, "merge key << wants a mapping, got %s", describe(v))
	return nil
}

// record remembers where the value at path (and its key, if any) sits.
func (c *checker) record(path string, key, value *yaml.Node) {
	if key != nil {
		c.keys[path] = key
	}
	c.values[path] = value
}

// add records a problem at node n.
func (c *checker) add(n *yaml.Node, path, format string, args ...any) {
	c.errs = append(c.errs, &Error{
		File:   c.file,
		Line:   n.Line,
		Column: n.Column,
		Path:   path,
		Msg:    fmt.Sprintf(format, args...),
	})
}

// errorf records a problem with the decoded value at path, unless the shape of
// that value or of one that holds it is already reported as wrong.
func (c *checker) errorf(path, format string, args ...any) {
	for p := path; ; p = parent(p) {
		if c.broken[p] {
			return
		}
		if p == "" {
			break
		}
	}
	e := &Error{File: c.file, Path: path, Msg: fmt.Sprintf(format, args...)}
	if n := c.node(path); n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	c.errs = append(c.errs, e)
}

// has reports whether the file sets the value at path (null counts as unset).
func (c *checker) has(path string) bool {
	n, ok := c.values[path]
	return ok && !isNull(resolve(n))
}

// line is the line of the value at path, or of the nearest value holding it.
func (c *checker) line(path string) int {
	if n := c.node(path); n != nil {
		return n.Line
	}
	return 0
}

// node finds the value at path or, when the file leaves it out, the key of the
// nearest section that would hold it.
func (c *checker) node(path string) *yaml.Node {
	if n := c.values[path]; n != nil {
		return n
	}
	for p := parent(path); ; p = parent(p) {
		if k := c.keys[p]; k != nil {
			return k
		}
		if v := c.values[p]; v != nil {
			return v
		}
		if p == "" {
			return nil
		}
	}
}

// result sorts the problems by position, drops repeats (an anchor used twice is
// walked twice), and returns them, or nil when there are none.
func (c *checker) result() error {
	if len(c.errs) == 0 {
		return nil
	}
	slices.SortStableFunc(c.errs, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	out := c.errs[:0:0]
	for _, e := range c.errs {
		if !slices.ContainsFunc(out, func(o *Error) bool { return *o == *e }) {
			out = append(out, e)
		}
	}
	return out
}

// resolve follows aliases (*name) to the node they stand for.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// isNull reports whether n is an explicit or empty null (`key:` with no value).
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// lookup finds the field for key.
func lookup(fields []field, key string) *field {
	for i := range fields {
		if fields[i].key == key {
			return &fields[i]
		}
	}
	return nil
}

// join appends a key to a path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

var plainKey = lazy(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// mapKey renders a free map key as a path element: .name, or ["odd key"].
func mapKey(key string) string {
	if plainKey.MatchString(key) {
		return "." + key
	}
	return "[" + strconv.Quote(key) + "]"
}

// parent drops the last element of a path: apps[0].name → apps[0] → apps → "".
func parent(path string) string {
	if i := strings.LastIndexAny(path, ".["); i >= 0 {
		return path[:i]
	}
	return ""
}

// suggest returns the known key closest to a mistyped one, or "" if none is close.
func suggest(key string, fields []field) string {
	best, bestDist := "", 3
	for _, f := range fields {
		k, want := strings.ToLower(key), strings.ToLower(f.key)
		d := distance(k, want)
		if len(k) >= 3 && (strings.HasPrefix(want, k) || strings.HasPrefix(k, want)) {
			d = min(d, 1)
		}
		if d < bestDist && d <= max(1, len(f.key)/3) {
			best, bestDist = f.key, d
		}
	}
	return best
}

// distance is the edit distance between a and b, counting a swap of two
// neighbouring letters as one edit.
func distance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

var linePrefix = lazy(`^(yaml: )?(line \d+: )?`)

// decodeMessage is the decoder's complaint without the position prefixes the
// Error already carries.
func decodeMessage(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs := make([]string, len(te.Errors))
		for i, m := range te.Errors {
			msgs[i] = linePrefix.ReplaceAllString(m, "")
		}
		return strings.Join(msgs, "; ")
	}
	return linePrefix.ReplaceAllString(err.Error(), "")
}
