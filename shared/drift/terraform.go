package drift

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/report"
)

// TerraformPlanFile is the file of a workspace's build artifact that holds
// the plan: the output of terraform show -json of the refresh-only plan.
const TerraformPlanFile = "drift.json"

// ErrNotPlan marks input that is not the JSON of a Terraform plan, or of one
// Terraform could not finish: what it says of drift cannot be known.
var ErrNotPlan = errors.New("not a Terraform plan")

// The statuses of a drifted Terraform resource, as CloudFormation names
// those of a stack's resources.
const (
	// ResourceModified is a resource whose attributes were changed outside
	// Terraform.
	ResourceModified = "MODIFIED"
	// ResourceDeleted is a resource deleted outside Terraform.
	ResourceDeleted = "DELETED"
)

// Bounds on what a plan's drift puts in a report, so that a workspace that
// drifted everywhere still fits one ledger item.
const (
	// MaxValueBytes is the longest value, before or after, kept of one
	// changed attribute; longer ones are cut, ending in "…".
	MaxValueBytes = 256
	// MaxDifferences is the most attribute paths reported of one resource;
	// beyond it, the resource's changed top-level attributes are reported
	// instead, each as a whole.
	MaxDifferences = 64
	// MaxValuesBytes is the most bytes of values kept in one report; past
	// it, values are left out and only their paths reported.
	MaxValuesBytes = 64 << 10
)

// SensitiveValue stands for a value the plan marks sensitive.
const SensitiveValue = "(sensitive value)"

// omittedValue stands for a value left out when a report's values are full.
const omittedValue = "(left out: the report holds enough values)"

// TerraformPlan is what Highway reads of a Terraform plan: the resources
// changed outside Terraform, and what else the plan holds.
type TerraformPlan struct {
	// TerraformVersion is the Terraform that made the plan; empty when the
	// plan does not say.
	TerraformVersion string `json:"terraformVersion,omitempty"`
	// Resources counts the managed resource instances of the state the plan
	// refreshed.
	Resources int `json:"resources"`
	// Drifted are the resources of resource_drift, with the attributes that
	// changed (Expected: the state's value, Actual: the refreshed one),
	// sensitive values masked.
	Drifted []ledger.DriftedResource `json:"drifted"`
	// Planned counts the changes of resource_changes other than no-op: what
	// applying the configuration would do, which is not drift.
	Planned int `json:"planned"`
}

// planHead is what tells a plan from other JSON before terraform-json reads
// it: a plan has planned_values, a state values; errored marks a plan
// Terraform could not finish.
type planHead struct {
	FormatVersion *string   `json:"format_version"`
	PlannedValues *struct{} `json:"planned_values"`
	Values        *struct{} `json:"values"`
	Errored       bool      `json:"errored"`
}

// ParseTerraformPlan reads the output of terraform show -json of a saved
// plan and returns its drift: the entries of resource_drift, which Terraform
// fills with the changes it found made outside Terraform when it refreshed
// the state. The planned changes of resource_changes are counted, never
// reported as drift. Input that is not such a plan is an error wrapping
// ErrNotPlan that says what it is instead: not JSON, the streamed UI of
// terraform plan -json, a state, a plan that errored, or a plan format this
// Highway does not read.
func ParseTerraformPlan(r io.Reader) (TerraformPlan, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return TerraformPlan{}, err
	}
	var head planHead
	if err := json.Unmarshal(data, &head); err != nil {
		return TerraformPlan{}, notPlan(data, err)
	}
	switch {
	case head.FormatVersion == nil:
		return TerraformPlan{}, fmt.Errorf("%w: the JSON has no format_version; want the output of terraform show -json PLANFILE", ErrNotPlan)
	case head.PlannedValues == nil && head.Values != nil:
		return TerraformPlan{}, fmt.Errorf("%w: this is a Terraform state; run terraform show -json on the saved plan file instead", ErrNotPlan)
	case head.PlannedValues == nil:
		return TerraformPlan{}, fmt.Errorf("%w: the JSON has no planned_values; want the output of terraform show -json PLANFILE", ErrNotPlan)
	case head.Errored:
		return TerraformPlan{}, fmt.Errorf("%w: Terraform could not finish this plan (errored), so its drift is unknown; its output says why", ErrNotPlan)
	}
	var plan tfjson.Plan
	plan.UseJSONNumber(true) // numbers as the plan writes them
	if err := json.Unmarshal(data, &plan); err != nil {
		return TerraformPlan{}, fmt.Errorf("%w: %v", ErrNotPlan, err)
	}
	out := TerraformPlan{TerraformVersion: plan.TerraformVersion, Drifted: []ledger.DriftedResource{}}
	if plan.PriorState != nil && plan.PriorState.Values != nil {
		out.Resources = managedResources(plan.PriorState.Values.RootModule)
	}
	for _, rc := range plan.ResourceChanges {
		if rc != nil && rc.Change != nil && !rc.Change.Actions.NoOp() && !rc.Change.Actions.Read() {
			out.Planned++
		}
	}
	budget := MaxValuesBytes
	for _, rc := range plan.ResourceDrift {
		if r, ok := driftedTerraformResource(rc, &budget); ok {
			out.Drifted = append(out.Drifted, r)
		}
	}
	return out, nil
}

// notPlan explains why data, which did not decode, is not a plan.
func notPlan(data []byte, err error) error {
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) && json.Valid(firstLine(data)) {
		return fmt.Errorf("%w: one JSON value a line, as terraform plan -json streams its UI; want the output of terraform show -json PLANFILE", ErrNotPlan)
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		return fmt.Errorf("%w: the JSON is a %s, not an object", ErrNotPlan, typ.Value)
	}
	if syntax != nil {
		line := 1 + bytes.Count(data[:min(int(syntax.Offset), len(data))], []byte("\n"))
		return fmt.Errorf("%w: not JSON: line %d: %v", ErrNotPlan, line, err)
	}
	return fmt.Errorf("%w: not JSON: %v", ErrNotPlan, err)
}

// firstLine is data up to its first line break.
func firstLine(data []byte) []byte {
	line, _, _ := bytes.Cut(data, []byte("\n"))
	return line
}

// managedResources counts the managed resource instances of a module and
// its children.
func managedResources(m *tfjson.StateModule) int {
	if m == nil {
		return 0
	}
	n := 0
	for _, r := range m.Resources {
		if r != nil && r.Mode == tfjson.ManagedResourceMode {
			n++
		}
	}
	for _, c := range m.ChildModules {
		n += managedResources(c)
	}
	return n
}

// driftedTerraformResource is one entry of resource_drift as a drifted
// resource; false for an entry that changed nothing (a move, a data source).
func driftedTerraformResource(rc *tfjson.ResourceChange, budget *int) (ledger.DriftedResource, bool) {
	if rc == nil || rc.Change == nil || rc.Mode == tfjson.DataResourceMode {
		return ledger.DriftedResource{}, false
	}
	c := rc.Change
	if c.Actions.NoOp() || c.Actions.Read() || len(c.Actions) == 0 {
		return ledger.DriftedResource{}, false
	}
	r := ledger.DriftedResource{LogicalID: rc.Address, Type: rc.Type, Status: ResourceModified}
	if c.Actions.Delete() {
		r.Status = ResourceDeleted
	}
	r.PhysicalID = idOf(c.Before, c.BeforeSensitive)
	if r.PhysicalID == "" {
		r.PhysicalID = idOf(c.After, c.AfterSensitive)
	}
	if r.Status == ResourceDeleted {
		return r, true // no attributes: the whole resource is gone
	}
	d := &differ{budget: budget, depth: -1}
	d.diff("", c.Before, c.After, c.BeforeSensitive, c.AfterSensitive, 0)
	if len(d.out) > MaxDifferences {
		*budget += d.spent
		d = &differ{budget: budget, depth: 1}
		d.diff("", c.Before, c.After, c.BeforeSensitive, c.AfterSensitive, 0)
	}
	r.Differences = d.out
	return r, true
}

// idOf is the id attribute of an object value, unless it is sensitive.
func idOf(v, sensitive any) string {
	m, ok := v.(map[string]any)
	if !ok || isSensitive(sensitive) || isSensitive(childSensitivity(sensitive, "id")) {
		return ""
	}
	id, _ := m["id"].(string)
	return id
}

// differ collects the attribute paths where two values differ.
type differ struct {
	out    []ledger.PropertyDifference
	budget *int // bytes of values the report has left
	spent  int  // bytes of values this differ took from budget
	depth  int  // compare values whole below this depth; -1: never
}

// diff compares before and after at path. bs and as are their sensitivity
// as the plan gives it: true where the whole value is sensitive, else an
// object or array of the same shape holding true at its sensitive leaves.
// A value sensitive on either side is compared whole and never descended
// into, so its shape stays hidden too.
func (d *differ) diff(path string, before, after, bs, as any, depth int) {
	if isSensitive(bs) || isSensitive(as) || depth == d.depth {
		d.compare(path, before, after, bs, as)
		return
	}
	switch b := before.(type) {
	case map[string]any:
		if a, ok := after.(map[string]any); ok {
			keys := slices.Sorted(maps.Keys(b))
			for k := range a {
				if _, ok := b[k]; !ok {
					keys = append(keys, k)
				}
			}
			slices.Sort(keys)
			for _, k := range keys {
				d.diff(attributePath(path, k), b[k], a[k], childSensitivity(bs, k), childSensitivity(as, k), depth+1)
			}
			return
		}
	case []any:
		a, ok := after.([]any)
		switch {
		case ok && len(a) == len(b):
			for i := range b {
				d.diff(path+"["+strconv.Itoa(i)+"]", b[i], a[i], elemSensitivity(bs, i), elemSensitivity(as, i), depth+1)
			}
			return
		case ok:
			d.elements(path, b, a, bs, as)
			return
		}
	}
	d.compare(path, before, after, bs, as)
}

// elements compares lists of different lengths as Terraform's sets are
// compared: an element of before that after does not hold was removed (at
// its index in before), one of after that before does not hold was added (at
// its index in after).
func (d *differ) elements(path string, before, after []any, bs, as any) {
	for i, e := range before {
		if !slices.ContainsFunc(after, func(x any) bool { return reflect.DeepEqual(e, x) }) {
			d.compare(path+"["+strconv.Itoa(i)+"]", e, nil, elemSensitivity(bs, i), nil)
		}
	}
	for i, e := range after {
		if !slices.ContainsFunc(before, func(x any) bool { return reflect.DeepEqual(e, x) }) {
			d.compare(path+"["+strconv.Itoa(i)+"]", nil, e, nil, elemSensitivity(as, i))
		}
	}
}

// compare records path when before and after differ, each rendered with its
// sensitive parts masked.
func (d *differ) compare(path string, before, after, bs, as any) {
	if reflect.DeepEqual(before, after) {
		return
	}
	diff := ledger.PropertyDifference{Path: path, Type: "NOT_EQUAL"}
	switch {
	case before == nil:
		diff.Type = "ADD"
	case after == nil:
		diff.Type = "REMOVE"
	}
	diff.Expected, diff.Actual = d.render(before, bs), d.render(after, as)
	d.out = append(d.out, diff)
}

// render is v as compact JSON, its sensitive parts masked, cut to
// MaxValueBytes; "" for no value. A masked value alone is SensitiveValue.
func (d *differ) render(v, sensitive any) string {
	if v == nil {
		return ""
	}
	if isSensitive(sensitive) {
		return SensitiveValue
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(mask(v, sensitive)); err != nil {
		return fmt.Sprintf("(unreadable: %v)", err)
	}
	s := report.Shorten(strings.TrimSuffix(b.String(), "\n"), MaxValueBytes)
	if len(s) > *d.budget {
		return omittedValue
	}
	*d.budget -= len(s)
	d.spent += len(s)
	return s
}

// mask is v with the values sensitive marks replaced by SensitiveValue.
func mask(v, sensitive any) any {
	if isSensitive(sensitive) {
		return SensitiveValue
	}
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = mask(e, childSensitivity(sensitive, k))
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = mask(e, elemSensitivity(sensitive, i))
		}
		return out
	}
	return v
}

// isSensitive reports a sensitivity that covers the whole value.
func isSensitive(s any) bool {
	b, ok := s.(bool)
	return ok && b
}

// childSensitivity is the sensitivity of an object's attribute k.
func childSensitivity(s any, k string) any {
	switch x := s.(type) {
	case bool:
		return x // true covers the children
	case map[string]any:
		return x[k]
	}
	return nil
}

// elemSensitivity is the sensitivity of a list's element i.
func elemSensitivity(s any, i int) any {
	switch x := s.(type) {
	case bool:
		return x
	case []any:
		if i < len(x) {
			return x[i]
		}
	}
	return nil
}

// identifier is an attribute name that needs no quoting in a path.
var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// attributePath is path followed by key: .key, or ["key"] when key is not
// an identifier (a map key with spaces or dots, say).
func attributePath(path, key string) string {
	if !identifier.MatchString(key) {
		return path + "[" + strconv.Quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}
