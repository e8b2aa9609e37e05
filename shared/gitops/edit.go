package gitops

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/highwayhq/highway/shared/imageref"
	"github.com/highwayhq/highway/shared/policy"
	"go.yaml.in/yaml/v3"
)

// ErrNoPlace marks a file that has no place for the image where the change
// says: no images entry of that name in a kustomization, no such key in a
// values file, or a value written in a form Highway does not rewrite (a
// block scalar, a flow mapping). A retry cannot help; the file must change.
var ErrNoPlace = errors.New("no place for the image")

// SetImage returns content with the image repository@digest written where
// file's kind says:
//   - a kustomization: the images entry named key (the image name its
//     resources use; empty means repository) gets newName repository (when
//     it differs from the name) and digest, and loses newTag, as
//     `kustomize edit set image key=repository@digest` leaves it;
//   - any other file, a Helm values file: the value at the dotted key
//     ("image.digest") becomes the digest when the key's last part is
//     "digest", and repository@digest otherwise.
//
// Only the lines that change are touched: comments, order, quoting and
// indentation stay as they were, so the commit's diff is the change alone.
// changed is false when the file already says so.
func SetImage(file string, content []byte, key, repository, digest string) (out []byte, changed bool, err error) {
	if d, ok := imageref.SHA256(digest); !ok || d != digest || !isRepository(repository) {
		return nil, false, fmt.Errorf("%w: %q@%q is not an image repository and sha256 digest", ErrNoPlace, repository, digest)
	}
	// yaml counts these as line breaks and the editor does not: refuse them
	// rather than edit a line the parser numbered differently.
	if bytes.ContainsAny(content, "\u0085\u2028\u2029") || bytes.Contains(bytes.ReplaceAll(content, []byte("\r\n"), nil), []byte("\r")) {
		return nil, false, fmt.Errorf("%w: %s has line breaks other than \\n and \\r\\n", ErrNoPlace, file)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(content, &doc); err != nil {
		return nil, false, fmt.Errorf("%w: %s: %w", ErrNoPlace, file, err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, false, fmt.Errorf("%w: %s is not a YAML mapping", ErrNoPlace, file)
	}
	e := &editor{src: content}
	var want func(any) error
	if policy.IsKustomization(file) {
		want, err = e.kustomize(doc.Content[0], key, repository, digest)
	} else {
		want, err = e.values(doc.Content[0], key, repository, digest)
	}
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", file, err)
	}
	out = e.apply()
	if err := check(content, out, want); err != nil {
		return nil, false, fmt.Errorf("%w: %s: %w", ErrNoPlace, file, err)
	}
	return out, !bytes.Equal(out, content), nil
}

// isRepository says whether s can stand as an image repository in a YAML
// value as it is: a letter or digit, then letters, digits and ._/:- alone
// (no space, quote, '#', '@' or line break).
func isRepository(s string) bool {
	for i, r := range s {
		alnum := r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
		if !alnum && (i == 0 || !strings.ContainsRune("._/:-", r)) {
			return false
		}
	}
	return s != ""
}

// check holds an edit to what it meant: out parses, and reads as content
// does with want applied to it, and nothing else changed. Whatever the lines
// of a file a person wrote look like, the commit changes the image alone or
// does not happen.
func check(content, out []byte, want func(any) error) error {
	var before, after any
	if err := yaml.Unmarshal(content, &before); err != nil {
		return err
	}
	if err := yaml.Unmarshal(out, &after); err != nil {
		return fmt.Errorf("the edit would not parse: %w", err)
	}
	if err := want(before); err != nil {
		return err
	}
	if !reflect.DeepEqual(before, after) {
		return errors.New("the edit would change more than the image; write the value on one line of its own")
	}
	return nil
}

// kustomize sets the images entry named name (or repository), and returns
// the same change made to the decoded document.
func (e *editor) kustomize(root *yaml.Node, name, repository, digest string) (func(any) error, error) {
	if name == "" {
		name = repository
	}
	_, images, err := lookup(root, "images")
	if err != nil {
		return nil, err
	}
	if images == nil || images.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%w: no images list", ErrNoPlace)
	}
	index := -1
	for i, entry := range images.Content {
		if _, n, _ := lookup(entry, "name"); n != nil && n.Value == name {
			if index >= 0 {
				return nil, fmt.Errorf("%w: two images entries are named %q", ErrNoPlace, name)
			}
			index = i
		}
	}
	if index < 0 {
		return nil, fmt.Errorf("%w: no images entry named %q", ErrNoPlace, name)
	}
	entry := images.Content[index]
	if entry.Style&yaml.FlowStyle != 0 {
		return nil, fmt.Errorf("%w: the images entry %q is a flow mapping; write it as a block", ErrNoPlace, name)
	}
	newName := ""
	if repository != name {
		newName = repository
	}
	for _, kv := range [][2]string{{"newName", newName}, {"digest", digest}, {"newTag", ""}} {
		if err := e.set(entry, kv[0], kv[1]); err != nil {
			return nil, err
		}
	}
	return func(doc any) error {
		img := imagesEntry(doc, name)
		if img == nil {
			return errors.New("the images entry did not decode")
		}
		delete(img, "newTag")
		delete(img, "newName")
		if newName != "" {
			img["newName"] = newName
		}
		img["digest"] = digest
		return nil
	}, nil
}

// values sets the scalar at the dotted key, and returns the same change made
// to the decoded document.
func (e *editor) values(root *yaml.Node, key, repository, digest string) (func(any) error, error) {
	if key == "" {
		return nil, fmt.Errorf("%w: a values file needs the key to write the image to", ErrNoPlace)
	}
	parts := strings.Split(key, ".")
	n := root
	for _, p := range parts[:len(parts)-1] {
		_, next, err := lookup(n, p)
		if err != nil {
			return nil, err
		}
		if n = next; n == nil || n.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("%w: no mapping at %q", ErrNoPlace, key)
		}
	}
	last := parts[len(parts)-1]
	k, v, err := lookup(n, last)
	if err != nil {
		return nil, err
	}
	if k == nil {
		return nil, fmt.Errorf("%w: no key %q", ErrNoPlace, key)
	}
	value := repository + "@" + digest
	if strings.EqualFold(last, "digest") { // image.Digest too: a digest field never takes a reference
		value = digest
	}
	if err := e.replace(k, v, value); err != nil {
		return nil, err
	}
	return func(doc any) error {
		m, _ := valueParent(doc, key)
		if m == nil {
			return errors.New("the key's mapping did not decode")
		}
		m[last] = value
		return nil
	}, nil
}

// imagesEntry is the decoded kustomization's images entry named name, or nil.
func imagesEntry(doc any, name string) map[string]any {
	m, _ := doc.(map[string]any)
	list, _ := m["images"].([]any)
	for _, e := range list {
		if img, ok := e.(map[string]any); ok && img["name"] == name {
			return img
		}
	}
	return nil
}

// valueParent is the decoded mapping that holds the dotted key's last part,
// and that part; a nil mapping when the path is not there.
func valueParent(doc any, key string) (map[string]any, string) {
	parts := strings.Split(key, ".")
	for _, p := range parts[:len(parts)-1] {
		m, _ := doc.(map[string]any)
		doc = m[p]
	}
	m, _ := doc.(map[string]any)
	return m, parts[len(parts)-1]
}

// lookup returns the key and value nodes of key in mapping m, or nils; a key
// written twice is refused, since YAML readers differ on which one counts
// (Helm takes the last).
func lookup(m *yaml.Node, key string) (k, v *yaml.Node, err error) {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			if k != nil {
				return nil, nil, fmt.Errorf("%w: the key %q is written twice (lines %d and %d)", ErrNoPlace, key, k.Line, m.Content[i].Line)
			}
			k, v = m.Content[i], m.Content[i+1]
		}
	}
	return k, v, nil
}

// editor collects changes to whole lines of src, applied at once.
type editor struct {
	src   []byte
	edits []edit
}

// edit replaces lines [from, to) (0-based) with text, or inserts it before
// line from when to == from.
type edit struct {
	from, to int
	text     string
}

// set makes the block mapping m hold key: value, or not hold key when value
// is empty: an existing single-line entry is rewritten or removed, a missing
// one is added after the mapping's first entry, at its indentation.
func (e *editor) set(m *yaml.Node, key, value string) error {
	k, v, err := lookup(m, key)
	if err != nil {
		return err
	}
	switch {
	case k == nil && value == "":
		return nil
	case k == nil:
		first := m.Content[0]
		line := first.Line // the new entry goes after the first entry's line
		if _, fv, _ := lookup(m, first.Value); fv == nil || fv.Line != first.Line {
			return fmt.Errorf("%w: the images entry's first key %q spans lines", ErrNoPlace, first.Value)
		}
		text := strings.Repeat(" ", first.Column-1) + key + ": " + value
		if bytes.HasSuffix(bytes.Split(e.src, []byte("\n"))[line-1], []byte("\r")) {
			text += "\r" // a CRLF file keeps its line ends
		}
		e.edits = append(e.edits, edit{from: line, to: line, text: text})
		return nil
	case value == "":
		if k.Line != v.Line || k.Line == m.Content[0].Line {
			return fmt.Errorf("%w: %s cannot be removed from its line", ErrNoPlace, key)
		}
		e.edits = append(e.edits, edit{from: k.Line - 1, to: k.Line})
		return nil
	}
	return e.replace(k, v, value)
}

// replace rewrites the single-line scalar v of key k as value, in v's
// quoting; an empty value (key: with nothing after it) gets one.
func (e *editor) replace(k, v *yaml.Node, value string) error {
	if v.Kind != yaml.ScalarNode || v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return fmt.Errorf("%w: the value at line %d is not a one-line scalar", ErrNoPlace, v.Line)
	}
	if v.Value == value {
		return nil
	}
	lines := bytes.Split(e.src, []byte("\n"))
	if v.Line < 1 || v.Line > len(lines) || k.Line < 1 || k.Line > len(lines) {
		return fmt.Errorf("%w: the value of %q is not where the file's lines say", ErrNoPlace, k.Value)
	}
	if v.Value == "" && v.Style == 0 && v.Tag == "!!null" {
		// key: with nothing after it, or only a comment: write the value
		// after the colon.
		line := string(lines[k.Line-1])
		start := runeOffset(line, k.Column-1)
		colon := start + len(k.Value)
		if start < 0 || !strings.HasPrefix(line[start:], k.Value+":") {
			return fmt.Errorf("%w: the key %q at line %d is written in a form Highway does not rewrite", ErrNoPlace, k.Value, k.Line)
		}
		e.edits = append(e.edits, edit{from: k.Line - 1, to: k.Line, text: line[:colon+1] + " " + value + line[colon+1:]})
		return nil
	}
	line := string(lines[v.Line-1])
	start := runeOffset(line, v.Column-1)
	token := v.Value
	switch {
	case v.Style&yaml.DoubleQuotedStyle != 0:
		token, value = `"`+v.Value+`"`, `"`+value+`"`
	case v.Style&yaml.SingleQuotedStyle != 0:
		token, value = "'"+v.Value+"'", "'"+value+"'"
	}
	if start < 0 || !strings.HasPrefix(line[start:], token) {
		return fmt.Errorf("%w: the value at line %d is written in a form Highway does not rewrite", ErrNoPlace, v.Line)
	}
	e.edits = append(e.edits, edit{from: v.Line - 1, to: v.Line, text: line[:start] + value + line[start+len(token):]})
	return nil
}

// runeOffset is the byte offset of the n-th rune of s, or -1.
func runeOffset(s string, n int) int {
	i := 0
	for off := range s {
		if i == n {
			return off
		}
		i++
	}
	if i == n {
		return len(s)
	}
	return -1
}

// apply returns src with the edits made, lines in order: lines inserted
// before a line come first, in the order they were added, then the line or
// what replaces it.
func (e *editor) apply() []byte {
	lines := strings.Split(string(e.src), "\n")
	var out []string
	for i := 0; i <= len(lines); i++ {
		for _, ed := range e.edits {
			if ed.from == i && ed.to == i {
				out = append(out, ed.text)
			}
		}
		if i == len(lines) {
			break
		}
		line, keep := lines[i], true
		for _, ed := range e.edits {
			if ed.from == i && ed.to == i+1 {
				line, keep = ed.text, ed.text != ""
			}
		}
		if keep {
			out = append(out, line)
		}
	}
	return []byte(strings.Join(out, "\n"))
}
