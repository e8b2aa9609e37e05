package route

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"sort"
	"strconv"
	"strings"
)

// MaxPatternLength is the default EventBridge quota on the size of a rule's event
// pattern, in characters (it can be raised to 4096 on request). Compile rejects
// longer patterns so that a route which works locally cannot fail at deploy time
// for its size.
const MaxPatternLength = 2048

// numericLimit bounds the operands of "numeric": event-ruler, the matching engine
// behind EventBridge, compares numbers between -5.0e9 and +5.0e9 inclusive.
const numericLimit = 5.0e9

// orKey is the field name that introduces a list of alternative sub-patterns.
const orKey = "$or"

// operators are the keys a matcher object in a value list may use; they are also
// reserved as field names inside "$or" alternatives, as in EventBridge.
var operators = map[string]bool{
	"anything-but":       true,
	"cidr":               true,
	"equals-ignore-case": true,
	"exists":             true,
	"numeric":            true,
	"prefix":             true,
	"suffix":             true,
	"wildcard":           true,
}

// PatternError reports why a Pattern is not a valid EventBridge event pattern, and
// where: Path is the location inside the pattern, such as "detail.state[0]".
type PatternError struct {
	// Path locates the offending value; empty for the pattern as a whole.
	Path string
	// Msg says what is wrong with it.
	Msg string
}

// Error formats the error as "event pattern <path>: <reason>".
func (e *PatternError) Error() string {
	if e.Path == "" {
		return "event pattern: " + e.Msg
	}
	return "event pattern " + e.Path + ": " + e.Msg
}

func patternErr(path, format string, args ...any) error {
	return &PatternError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// JSON returns the pattern exactly as the CDK app hands it to EventBridge: compact,
// with object keys sorted so that synthesizing twice gives the same template. It
// fails if the pattern is not valid, so a bad route stops the synth.
func (p Pattern) JSON() (string, error) {
	m, err := Compile(p)
	if err != nil {
		return "", err
	}
	return m.json, nil
}

// encode renders p as compact JSON with sorted keys and without HTML escaping,
// so numeric operators such as "<=" stay readable in the template.
func encode(p Pattern) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return "", &PatternError{Msg: "encode: " + err.Error()}
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// decodeJSON parses JSON keeping numbers as json.Number, so that pattern and event
// numbers keep their exact text.
func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("unexpected data after the JSON value")
	}
	return v, nil
}

// Matcher is a validated, compiled Pattern. It is safe for concurrent use.
//
// It implements EventBridge content filtering: exact strings, numbers, booleans
// and null (a list is an OR), nested objects (AND), prefix and suffix (also with
// equals-ignore-case), equals-ignore-case, wildcard, anything-but (a value, a
// list, or prefix, suffix, equals-ignore-case or wildcard), numeric, cidr, exists
// and $or. An array in the event matches if one of its elements does. Two known
// simplifications: {"exists": false} below an array of objects is judged per
// element, and string values that look like IP addresses are compared as text.
type Matcher struct {
	root *objectMatcher
	json string
}

// Compile validates p against the EventBridge pattern grammar and prepares it for
// matching. The pattern is first rendered to the JSON EventBridge receives and the
// matcher is built from that JSON, so Go-side types ([]string, int, nested Pattern)
// are judged exactly as EventBridge will judge them. Errors are *PatternError.
func Compile(p Pattern) (*Matcher, error) {
	if p == nil {
		return nil, patternErr("", "is nil")
	}
	text, err := encode(p)
	if err != nil {
		return nil, err
	}
	if n := len([]rune(text)); n > MaxPatternLength {
		return nil, patternErr("", "is %d characters, more than the %d EventBridge allows", n, MaxPatternLength)
	}
	v, err := decodeJSON([]byte(text))
	if err != nil {
		return nil, &PatternError{Msg: "decode: " + err.Error()}
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, patternErr("", "must be a JSON object")
	}
	root, err := compileObject("", obj, false)
	if err != nil {
		return nil, err
	}
	return &Matcher{root: root, json: text}, nil
}

// Match compiles p and matches it against one event; use Compile to match many.
func Match(p Pattern, event []byte) (bool, error) {
	m, err := Compile(p)
	if err != nil {
		return false, err
	}
	return m.Match(event)
}

// Match reports whether the event, an EventBridge event as JSON, matches the
// pattern. It fails only if event is not a JSON object.
func (m *Matcher) Match(event []byte) (bool, error) {
	obj, err := decodeEvent(event)
	if err != nil {
		return false, err
	}
	return m.root.match(obj), nil
}

// decodeEvent parses an event, which must be a JSON object.
func decodeEvent(event []byte) (map[string]any, error) {
	v, err := decodeJSON(event)
	if err != nil {
		return nil, fmt.Errorf("decode event: %w", err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("decode event: not a JSON object")
	}
	return obj, nil
}

// objectMatcher matches one JSON object: every field must match (AND) and, for
// each "$or" group, at least one alternative must match.
type objectMatcher struct {
	fields []fieldMatcher
	ors    [][]*objectMatcher
}

// fieldMatcher matches the value of one named field, either with a nested object
// pattern or with a list of value matchers of which any may match (OR).
type fieldMatcher struct {
	name   string
	object *objectMatcher
	values []valueMatcher
	// absent is set by {"exists": false}: the field matches when the event has no
	// leaf value at this path.
	absent bool
}

// valueMatcher matches one leaf value of an event: a string, json.Number, bool or
// nil (JSON null).
type valueMatcher interface {
	match(v any) bool
}

func (o *objectMatcher) match(obj map[string]any) bool {
	for i := range o.fields {
		f := &o.fields[i]
		v, ok := obj[f.name]
		if !f.match(v, ok) {
			return false
		}
	}
	for _, group := range o.ors {
		if !anyObjectMatches(group, obj) {
			return false
		}
	}
	return true
}

func anyObjectMatches(alternatives []*objectMatcher, obj map[string]any) bool {
	for _, alt := range alternatives {
		if alt.match(obj) {
			return true
		}
	}
	return false
}

func (f *fieldMatcher) match(v any, present bool) bool {
	if f.object != nil {
		return matchNested(f.object, v, present)
	}
	var leaves []any
	if present {
		leaves = leafValues(v, nil)
	}
	if len(leaves) == 0 {
		return f.absent
	}
	for _, leaf := range leaves {
		for _, vm := range f.values {
			if vm.match(leaf) {
				return true
			}
		}
	}
	return false
}

// matchNested applies a nested object pattern to an event value. An array matches
// if one of its objects matches on its own, so two fields are never satisfied by
// different elements of the same array (event-ruler's array-consistent matching).
// A missing or scalar value has no leaves below it: only {"exists": false} can
// match there.
func matchNested(o *objectMatcher, v any, present bool) bool {
	if !present {
		return o.match(nil)
	}
	switch t := v.(type) {
	case map[string]any:
		return o.match(t)
	case []any:
		objs := objectElements(t, nil)
		if len(objs) == 0 {
			return o.match(nil)
		}
		for _, obj := range objs {
			if o.match(obj) {
				return true
			}
		}
		return false
	default:
		return o.match(nil)
	}
}

// leafValues flattens v into its scalar values: arrays, at any depth, contribute
// their scalar elements; objects are intermediate nodes and contribute nothing.
func leafValues(v any, dst []any) []any {
	switch t := v.(type) {
	case []any:
		for _, e := range t {
			dst = leafValues(e, dst)
		}
	case map[string]any:
	default:
		dst = append(dst, v)
	}
	return dst
}

// objectElements collects the objects of an array, flattening nested arrays.
func objectElements(a []any, dst []map[string]any) []map[string]any {
	for _, e := range a {
		switch t := e.(type) {
		case map[string]any:
			dst = append(dst, t)
		case []any:
			dst = objectElements(t, dst)
		}
	}
	return dst
}

// join extends a dotted path with a field name.
func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func index(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

func compileObject(path string, obj map[string]any, inOr bool) (*objectMatcher, error) {
	if len(obj) == 0 {
		if path == "" {
			return nil, patternErr("", "must have at least one field")
		}
		return nil, patternErr(path, "empty objects are not allowed")
	}
	names := make([]string, 0, len(obj))
	for name := range obj {
		names = append(names, name)
	}
	sort.Strings(names)

	o := &objectMatcher{}
	for _, name := range names {
		fieldPath := join(path, name)
		v := obj[name]
		if name == orKey {
			group, err := compileOr(fieldPath, v)
			if err != nil {
				return nil, err
			}
			o.ors = append(o.ors, group)
			continue
		}
		if inOr && operators[name] {
			return nil, patternErr(fieldPath, "%q is an operator and cannot be a field name inside %s", name, orKey)
		}
		switch t := v.(type) {
		case map[string]any:
			nested, err := compileObject(fieldPath, t, inOr)
			if err != nil {
				return nil, err
			}
			o.fields = append(o.fields, fieldMatcher{name: name, object: nested})
		case []any:
			f, err := compileValues(fieldPath, t)
			if err != nil {
				return nil, err
			}
			f.name = name
			o.fields = append(o.fields, f)
		default:
			return nil, patternErr(fieldPath, "must be a list of values or an object, not %s", describe(v))
		}
	}
	return o, nil
}

func compileOr(path string, v any) ([]*objectMatcher, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, patternErr(path, "must be a list of objects, not %s", describe(v))
	}
	if len(list) < 2 {
		return nil, patternErr(path, "needs at least 2 alternatives, has %d", len(list))
	}
	group := make([]*objectMatcher, 0, len(list))
	for i, e := range list {
		altPath := index(path, i)
		obj, ok := e.(map[string]any)
		if !ok {
			return nil, patternErr(altPath, "must be an object, not %s", describe(e))
		}
		alt, err := compileObject(altPath, obj, true)
		if err != nil {
			return nil, err
		}
		group = append(group, alt)
	}
	return group, nil
}

func compileValues(path string, list []any) (fieldMatcher, error) {
	var f fieldMatcher
	if len(list) == 0 {
		return f, patternErr(path, "empty lists are not allowed")
	}
	for i, e := range list {
		elemPath := index(path, i)
		switch t := e.(type) {
		case map[string]any:
			if ex, ok := t["exists"]; ok && len(t) == 1 {
				b, ok := ex.(bool)
				if !ok {
					return f, patternErr(join(elemPath, "exists"), "must be true or false, not %s", describe(ex))
				}
				if b {
					f.values = append(f.values, existsMatcher{})
				} else {
					f.absent = true
				}
				continue
			}
			vm, err := compileOperator(elemPath, t)
			if err != nil {
				return f, err
			}
			f.values = append(f.values, vm)
		case []any:
			return f, patternErr(elemPath, "nested lists are not allowed")
		default:
			vm, err := compileExact(elemPath, e)
			if err != nil {
				return f, err
			}
			f.values = append(f.values, vm)
		}
	}
	return f, nil
}

// compileExact builds the matcher for a literal string, number, boolean or null.
func compileExact(path string, v any) (valueMatcher, error) {
	switch t := v.(type) {
	case string:
		return exactString(t), nil
	case json.Number:
		return newExactNumber(t), nil
	case bool:
		return exactBool(t), nil
	case nil:
		return exactNull{}, nil
	default:
		return nil, patternErr(path, "must be a string, number, boolean, null or matcher object, not %s", describe(v))
	}
}

// compileOperator builds the matcher for a single-key object such as
// {"prefix": "eu-"}.
func compileOperator(path string, obj map[string]any) (valueMatcher, error) {
	if len(obj) != 1 {
		return nil, patternErr(path, "a matcher object must have exactly one key, has %d", len(obj))
	}
	var op string
	var arg any
	for k, v := range obj {
		op, arg = k, v
	}
	opPath := join(path, op)
	switch op {
	case "prefix", "suffix":
		return compileAffix(opPath, op, arg)
	case "equals-ignore-case":
		s, ok := arg.(string)
		if !ok {
			return nil, patternErr(opPath, "must be a string, not %s", describe(arg))
		}
		return equalsIgnoreCase(s), nil
	case "wildcard":
		s, ok := arg.(string)
		if !ok {
			return nil, patternErr(opPath, "must be a string, not %s", describe(arg))
		}
		return compileWildcard(opPath, s)
	case "numeric":
		return compileNumeric(opPath, arg)
	case "cidr":
		s, ok := arg.(string)
		if !ok {
			return nil, patternErr(opPath, "must be a string, not %s", describe(arg))
		}
		prefix, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, patternErr(opPath, "invalid CIDR block %q", s)
		}
		return cidrMatcher{prefix.Masked()}, nil
	case "anything-but":
		return compileAnythingBut(opPath, arg)
	default:
		return nil, patternErr(path, "unknown operator %q", op)
	}
}

// compileAffix handles "prefix" and "suffix", whose argument is a string or
// {"equals-ignore-case": string}.
func compileAffix(path, op string, arg any) (valueMatcher, error) {
	fold := false
	if obj, ok := arg.(map[string]any); ok {
		inner, ok := obj["equals-ignore-case"]
		if len(obj) != 1 || !ok {
			return nil, patternErr(path, "must be a string or {\"equals-ignore-case\": string}")
		}
		fold, arg = true, inner
		path = join(path, "equals-ignore-case")
	}
	s, ok := arg.(string)
	if !ok {
		return nil, patternErr(path, "must be a string, not %s", describe(arg))
	}
	if op == "prefix" {
		return prefixMatcher{s: s, fold: fold}, nil
	}
	return suffixMatcher{s: s, fold: fold}, nil
}

// compileAnythingBut handles "anything-but": a string, a number, a list of only
// strings or only numbers, or an object applying prefix, suffix,
// equals-ignore-case or wildcard to a string or list of strings.
func compileAnythingBut(path string, arg any) (valueMatcher, error) {
	switch t := arg.(type) {
	case string:
		return not{exactString(t)}, nil
	case json.Number:
		return not{newExactNumber(t)}, nil
	case []any:
		if len(t) == 0 {
			return nil, patternErr(path, "empty lists are not allowed")
		}
		var strs, nums int
		excluded := make(anyOf, 0, len(t))
		for i, e := range t {
			switch v := e.(type) {
			case string:
				strs++
				excluded = append(excluded, exactString(v))
			case json.Number:
				nums++
				excluded = append(excluded, newExactNumber(v))
			default:
				return nil, patternErr(index(path, i), "must be a string or number, not %s", describe(e))
			}
		}
		if strs > 0 && nums > 0 {
			return nil, patternErr(path, "must list only strings or only numbers, not both")
		}
		return not{excluded}, nil
	case map[string]any:
		if len(t) != 1 {
			return nil, patternErr(path, "a matcher object must have exactly one key, has %d", len(t))
		}
		var op string
		var inner any
		for k, v := range t {
			op, inner = k, v
		}
		opPath := join(path, op)
		if op != "prefix" && op != "suffix" && op != "equals-ignore-case" && op != "wildcard" {
			return nil, patternErr(path, "unsupported operator %q inside anything-but", op)
		}
		values, err := stringOrStrings(opPath, inner)
		if err != nil {
			return nil, err
		}
		_, isList := inner.([]any)
		excluded := make(anyOf, 0, len(values))
		for i, s := range values {
			elemPath := opPath
			if isList {
				elemPath = index(opPath, i)
			}
			switch op {
			case "prefix", "suffix":
				if s == "" {
					return nil, patternErr(elemPath, "must not be empty")
				}
				if op == "prefix" {
					excluded = append(excluded, prefixMatcher{s: s})
				} else {
					excluded = append(excluded, suffixMatcher{s: s})
				}
			case "equals-ignore-case":
				excluded = append(excluded, equalsIgnoreCase(s))
			case "wildcard":
				w, err := compileWildcard(elemPath, s)
				if err != nil {
					return nil, err
				}
				excluded = append(excluded, w)
			}
		}
		return not{excluded}, nil
	default:
		return nil, patternErr(path, "must be a string, number, list or matcher object, not %s", describe(arg))
	}
}

func stringOrStrings(path string, v any) ([]string, error) {
	switch t := v.(type) {
	case string:
		return []string{t}, nil
	case []any:
		if len(t) == 0 {
			return nil, patternErr(path, "empty lists are not allowed")
		}
		out := make([]string, 0, len(t))
		for i, e := range t {
			s, ok := e.(string)
			if !ok {
				return nil, patternErr(index(path, i), "must be a string, not %s", describe(e))
			}
			out = append(out, s)
		}
		return out, nil
	default:
		return nil, patternErr(path, "must be a string or list of strings, not %s", describe(v))
	}
}

// compileNumeric handles "numeric": ["=", n], a single bound ("<", "<=", ">",
// ">=" with a number), or a lower bound followed by an upper bound, such as
// [">", 0, "<=", 5].
func compileNumeric(path string, arg any) (valueMatcher, error) {
	list, ok := arg.([]any)
	if !ok {
		return nil, patternErr(path, "must be a list such as [\">\", 0, \"<=\", 5], not %s", describe(arg))
	}
	if len(list) != 2 && len(list) != 4 {
		return nil, patternErr(path, "must hold one or two operator and number pairs, has %d elements", len(list))
	}
	var r numericRange
	for i := 0; i < len(list); i += 2 {
		op, ok := list[i].(string)
		if !ok {
			return nil, patternErr(index(path, i), "must be an operator (=, <, <=, >, >=), not %s", describe(list[i]))
		}
		if op != "=" && op != "<" && op != "<=" && op != ">" && op != ">=" {
			return nil, patternErr(index(path, i), "unknown numeric operator %q", op)
		}
		num, ok := list[i+1].(json.Number)
		if !ok {
			return nil, patternErr(index(path, i+1), "the operand of %q must be a number, not %s", op, describe(list[i+1]))
		}
		f, err := num.Float64()
		if err != nil || math.Abs(f) > numericLimit {
			return nil, patternErr(index(path, i+1), "%s is outside the range EventBridge compares (-5.0e9 to 5.0e9)", num)
		}
		lower := op == ">" || op == ">="
		upper := op == "<" || op == "<="
		switch {
		case op == "=" && len(list) == 2:
			r = numericRange{lo: f, hi: f, hasLo: true, hasHi: true}
		case lower && i == 0:
			r.lo, r.hasLo, r.loOpen = f, true, op == ">"
		case upper && (len(list) == 2 || i == 2):
			r.hi, r.hasHi, r.hiOpen = f, true, op == "<"
		default:
			return nil, patternErr(index(path, i), "operator %q is not allowed here: use [\"=\", n], one bound, or a lower bound (>, >=) then an upper bound (<, <=)", op)
		}
	}
	if len(list) == 4 && r.lo >= r.hi {
		return nil, patternErr(path, "lower bound %v must be less than upper bound %v", r.lo, r.hi)
	}
	return r, nil
}

// compileWildcard parses a wildcard pattern: "*" matches any run of characters,
// "\*" is a literal asterisk and "\\" a literal backslash. Consecutive wildcards
// and other escapes are rejected, as EventBridge rejects them.
func compileWildcard(path, s string) (valueMatcher, error) {
	parts := []string{}
	var cur strings.Builder
	prevStar := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '*':
			if prevStar {
				return nil, patternErr(path, "consecutive wildcard characters are not allowed in %q", s)
			}
			parts = append(parts, cur.String())
			cur.Reset()
			prevStar = true
			continue
		case '\\':
			if i+1 >= len(s) || (s[i+1] != '*' && s[i+1] != '\\') {
				return nil, patternErr(path, "a backslash may only escape * or \\ in %q", s)
			}
			i++
			cur.WriteByte(s[i])
		default:
			cur.WriteByte(c)
		}
		prevStar = false
	}
	parts = append(parts, cur.String())
	return wildcardMatcher(parts), nil
}

// describe names the JSON type of a pattern value for error messages.
func describe(v any) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean " + strconv.FormatBool(t)
	case json.Number:
		return "number " + t.String()
	case string:
		return "string " + strconv.Quote(t)
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	default:
		return fmt.Sprintf("%T", v)
	}
}

type exactString string

func (m exactString) match(v any) bool {
	s, ok := v.(string)
	return ok && s == string(m)
}

// exactNumber matches a JSON number by value, so 300 also matches 3.0e2, as
// event-ruler does by adding a numeric-equality matcher for each number; numbers
// it cannot compare (outside ±5.0e9) match by their literal text only.
type exactNumber struct {
	text       string
	f          float64
	comparable bool
}

func newExactNumber(n json.Number) exactNumber {
	f, err := n.Float64()
	return exactNumber{text: n.String(), f: f, comparable: err == nil && math.Abs(f) <= numericLimit}
}

func (m exactNumber) match(v any) bool {
	n, ok := v.(json.Number)
	if !ok {
		return false
	}
	if n.String() == m.text {
		return true
	}
	if !m.comparable {
		return false
	}
	f, err := n.Float64()
	return err == nil && f == m.f
}

type exactBool bool

func (m exactBool) match(v any) bool {
	b, ok := v.(bool)
	return ok && b == bool(m)
}

type exactNull struct{}

func (exactNull) match(v any) bool { return v == nil }

// existsMatcher is {"exists": true}: any leaf value, including null, is present.
type existsMatcher struct{}

func (existsMatcher) match(any) bool { return true }

type prefixMatcher struct {
	s    string
	fold bool
}

func (m prefixMatcher) match(v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	if m.fold {
		return strings.HasPrefix(strings.ToLower(s), strings.ToLower(m.s))
	}
	return strings.HasPrefix(s, m.s)
}

type suffixMatcher struct {
	s    string
	fold bool
}

func (m suffixMatcher) match(v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	if m.fold {
		return strings.HasSuffix(strings.ToLower(s), strings.ToLower(m.s))
	}
	return strings.HasSuffix(s, m.s)
}

type equalsIgnoreCase string

func (m equalsIgnoreCase) match(v any) bool {
	s, ok := v.(string)
	return ok && strings.EqualFold(s, string(m))
}

// wildcardMatcher holds the literal parts of a wildcard pattern; a wildcard sits
// between each two consecutive parts.
type wildcardMatcher []string

func (m wildcardMatcher) match(v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	if len(m) == 1 {
		return s == m[0]
	}
	first, last := m[0], m[len(m)-1]
	if !strings.HasPrefix(s, first) {
		return false
	}
	s = s[len(first):]
	if !strings.HasSuffix(s, last) {
		return false
	}
	s = s[:len(s)-len(last)]
	for _, part := range m[1 : len(m)-1] {
		i := strings.Index(s, part)
		if i < 0 {
			return false
		}
		s = s[i+len(part):]
	}
	return true
}

// numericRange matches JSON numbers within optional, open or closed bounds.
type numericRange struct {
	lo, hi         float64
	hasLo, hasHi   bool
	loOpen, hiOpen bool
}

func (r numericRange) match(v any) bool {
	n, ok := v.(json.Number)
	if !ok {
		return false
	}
	f, err := n.Float64()
	if err != nil {
		return false
	}
	if r.hasLo && (f < r.lo || (r.loOpen && f == r.lo)) {
		return false
	}
	if r.hasHi && (f > r.hi || (r.hiOpen && f == r.hi)) {
		return false
	}
	return true
}

type cidrMatcher struct{ prefix netip.Prefix }

func (m cidrMatcher) match(v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	addr, err := netip.ParseAddr(s)
	if err != nil {
		return false
	}
	return m.prefix.Contains(addr.Unmap())
}

// anyOf matches when one of its matchers does.
type anyOf []valueMatcher

func (m anyOf) match(v any) bool {
	for _, vm := range m {
		if vm.match(v) {
			return true
		}
	}
	return false
}

// not inverts a matcher, for "anything-but". It applies per leaf value: a value of
// another type than the excluded ones (a number against excluded strings) matches.
type not struct{ inner valueMatcher }

func (m not) match(v any) bool { return !m.inner.match(v) }
