package gitops

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ErrNoPlace marks a file that has no place for the image where the change
// says: no images entry of that name in a kustomization, no such key in a
// values file, or a value written in a form Highway does not rewrite (a
// block scalar, a flow mapping). A retry cannot help; the file must change.
var ErrNoPlace = errors.New("no place for the image")

// IsKustomization says whether a file is a kustomization, by its name, as
// kustomize finds one in a directory.
func IsKustomization(file string) bool {
	switch path.Base(file) {
	case "kustomization.yaml", "kustomization.yml", "Kustomization":
		return true
	}
	return false
}

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
	var doc yaml.Node
	if err := yaml.Unmarshal(content, &doc); err != nil {
		return nil, false, fmt.Errorf("%s: %w", file, err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, false, fmt.Errorf("%w: %s is not a YAML mapping", ErrNoPlace, file)
	}
	e := &editor{src: content}
	if IsKustomization(file) {
		err = e.kustomize(doc.Content[0], key, repository, digest)
	} else {
		err = e.values(doc.Content[0], key, repository, digest)
	}
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", file, err)
	}
	out = e.apply()
	return out, !bytes.Equal(out, content), nil
}

// kustomize sets the images entry named name (or repository).
func (e *editor) kustomize(root *yaml.Node, name, repository, digest string) error {
	if name == "" {
		name = repository
	}
	_, images := lookup(root, "images")
	if images == nil || images.Kind != yaml.SequenceNode {
		return fmt.Errorf("%w: no images list", ErrNoPlace)
	}
	for _, entry := range images.Content {
		if entry.Kind != yaml.MappingNode {
			continue
		}
		if _, n := lookup(entry, "name"); n == nil || n.Value != name {
			continue
		}
		if entry.Style&yaml.FlowStyle != 0 {
			return fmt.Errorf("%w: the images entry %q is a flow mapping; write it as a block", ErrNoPlace, name)
		}
		newName := ""
		if repository != name {
			newName = repository
		}
		if err := e.set(entry, "newName", newName); err != nil {
			return err
		}
		if err := e.set(entry, "digest", digest); err != nil {
			return err
		}
		return e.set(entry, "newTag", "")
	}
	return fmt.Errorf("%w: no images entry named %q", ErrNoPlace, name)
}

// values sets the scalar at the dotted key.
func (e *editor) values(root *yaml.Node, key, repository, digest string) error {
	if key == "" {
		return fmt.Errorf("%w: a values file needs the key to write the image to", ErrNoPlace)
	}
	parts := strings.Split(key, ".")
	n := root
	for _, p := range parts[:len(parts)-1] {
		if _, n = lookup(n, p); n == nil || n.Kind != yaml.MappingNode {
			return fmt.Errorf("%w: no mapping at %q", ErrNoPlace, key)
		}
	}
	last := parts[len(parts)-1]
	k, v := lookup(n, last)
	if k == nil {
		return fmt.Errorf("%w: no key %q", ErrNoPlace, key)
	}
	value := repository + "@" + digest
	if last == "digest" {
		value = digest
	}
	return e.replace(v, value)
}

// lookup returns the key and value nodes of key in mapping m, or nils.
func lookup(m *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
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
	k, v := lookup(m, key)
	switch {
	case k == nil && value == "":
		return nil
	case k == nil:
		first := m.Content[0]
		line := first.Line // the new entry goes after the first entry's line
		if _, fv := lookup(m, first.Value); fv.Line != first.Line {
			return fmt.Errorf("%w: the images entry's first key %q spans lines", ErrNoPlace, first.Value)
		}
		e.edits = append(e.edits, edit{from: line, to: line, text: strings.Repeat(" ", first.Column-1) + key + ": " + value})
		return nil
	case value == "":
		if k.Line != v.Line || k.Line == m.Content[0].Line {
			return fmt.Errorf("%w: %s cannot be removed from its line", ErrNoPlace, key)
		}
		e.edits = append(e.edits, edit{from: k.Line - 1, to: k.Line})
		return nil
	}
	return e.replace(v, value)
}

// replace rewrites the single-line scalar v as value, in v's quoting.
func (e *editor) replace(v *yaml.Node, value string) error {
	if v.Kind != yaml.ScalarNode || v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return fmt.Errorf("%w: the value at line %d is not a one-line scalar", ErrNoPlace, v.Line)
	}
	if v.Value == value {
		return nil
	}
	lines := bytes.Split(e.src, []byte("\n"))
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
