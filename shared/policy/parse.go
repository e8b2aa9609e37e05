package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// Where a function finds the policy the CDK app ships next to its bootstrap.
const (
	// PolicyFileEnv names the environment variable that overrides the path.
	PolicyFileEnv = "HIGHWAY_POLICY_FILE"
	// FunctionFileName is the file the CDK app writes into each function's asset.
	FunctionFileName = "highway.yaml"
)

// Parse reads a policy from YAML or JSON, validates it and applies defaults.
// filename only labels the problems. On failure the error is an Errors listing
// every problem found, each with its line and column.
func Parse(data []byte, filename string) (*Policy, error) {
	c := newChecker(filename)
	root := c.document(data)
	if root == nil {
		return nil, c.result()
	}
	c.record("", nil, root)
	c.walk(root, reflect.TypeFor[Policy](), "")
	var p Policy
	if err := root.Decode(&p); err != nil && !c.decodeError(err) {
		// The decoder stopped part way; checks on what it left would mislead.
		return nil, c.result()
	}
	for _, check := range checks {
		check(c, &p)
	}
	if err := c.result(); err != nil {
		return nil, err
	}
	p.applyDefaults()
	return &p, nil
}

// Load reads and parses the policy file at path.
func Load(path string) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read policy: %w", err)
	}
	return Parse(data, path)
}

// LoadForFunction loads the policy a function ships with: the file named by
// HIGHWAY_POLICY_FILE, or else highway.yaml in $LAMBDA_TASK_ROOT.
func LoadForFunction() (*Policy, error) {
	path := os.Getenv(PolicyFileEnv)
	if path == "" {
		root := os.Getenv("LAMBDA_TASK_ROOT")
		if root == "" {
			return nil, fmt.Errorf("policy: neither %s nor LAMBDA_TASK_ROOT is set", PolicyFileEnv)
		}
		path = filepath.Join(root, FunctionFileName)
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("policy file %s not found; ship %s next to bootstrap or set %s: %w",
			path, FunctionFileName, PolicyFileEnv, fs.ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("read policy: %w", err)
	}
	if p, ok := decodeEncoded(data); ok {
		return p, nil
	}
	return Parse(data, path)
}

// encodedHeader begins the first line of what Encode writes; the SHA-256 of
// the rest follows it, in hex.
const encodedHeader = "# highway: a policy validated when encoded; sha256 "

// decodeEncoded decodes data without validating it again when it is what
// Encode wrote, byte for byte: its first line holds the SHA-256 of the rest.
// A function's cold start then decodes the policy the CDK app shipped (about
// 1 ms) instead of validating it again (about 5 ms, most of it compiling
// regular expressions); a file changed since, or any other, is not decoded
// here, and Parse validates it.
func decodeEncoded(data []byte) (*Policy, bool) {
	first, rest, ok := bytes.Cut(data, []byte("\n"))
	digest, found := bytes.CutPrefix(first, []byte(encodedHeader))
	if !ok || !found {
		return nil, false
	}
	sum := sha256.Sum256(rest)
	if string(digest) != hex.EncodeToString(sum[:]) {
		return nil, false
	}
	var p Policy
	if err := yaml.Unmarshal(rest, &p); err != nil {
		return nil, false
	}
	p.applyDefaults() // those this code has and the encoding's did not
	return &p, true
}

// Encode writes the policy with defaults applied, in the form functions load at
// start: YAML, which writes durations and times as Parse reads them, after a
// first line holding the SHA-256 of the rest. It fails if the result would
// not load, so a policy built in code cannot ship broken; and since it
// validated what it wrote, LoadForFunction decodes it without validating it
// again while the digest matches.
func (p *Policy) Encode() ([]byte, error) {
	n := *p
	n.applyDefaults()
	data, err := yaml.Marshal(&n)
	if err != nil {
		return nil, fmt.Errorf("encode policy: %w", err)
	}
	if _, err := Parse(data, FunctionFileName); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	return append([]byte(encodedHeader+hex.EncodeToString(sum[:])+"\n"), data...), nil
}

// document parses data into its single YAML document and returns the root node,
// or nil after recording why there is none.
func (c *checker) document(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			c.errs = append(c.errs, &Error{File: c.file, Msg: "the policy is empty; want version, hub and apps"})
		} else {
			c.syntaxError(err)
		}
		return nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		c.add(&next, "", "the policy must be a single YAML document")
	case !errors.Is(err, io.EOF):
		c.syntaxError(err)
	}
	return doc.Content[0]
}

var (
	syntaxLine = lazy(`^yaml: line (\d+): (.*)$`)
	decodeLine = lazy(`^line (\d+): (.*)$`)
)

// syntaxError records a YAML syntax error with the line the parser gives.
func (c *checker) syntaxError(err error) {
	e := &Error{File: c.file, Msg: err.Error()}
	if m := syntaxLine.FindStringSubmatch(e.Msg); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Msg = m[2]
	}
	c.errs = append(c.errs, e)
}

// decodeError records what the decoder found wrong that the walk did not, such
// as a value rejected by a field's own UnmarshalYAML. It returns whether the
// decoder went on past the problems, leaving the rest of the policy decoded.
func (c *checker) decodeError(err error) bool {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		if len(c.errs) == 0 {
			c.syntaxError(err)
		}
		return false
	}
	for _, msg := range te.Errors {
		e := &Error{File: c.file, Msg: msg}
		if m := decodeLine.FindStringSubmatch(msg); m != nil {
			e.Line, _ = strconv.Atoi(m[1])
			e.Msg = m[2]
		}
		if !c.reported(e.Line) {
			c.errs = append(c.errs, e)
		}
	}
	return true
}

// reported says whether a problem on line is already recorded.
func (c *checker) reported(line int) bool {
	for _, e := range c.errs {
		if e.Line == line {
			return true
		}
	}
	return false
}
