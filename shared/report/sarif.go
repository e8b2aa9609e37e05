package report

import (
	"errors"
	"io"
	"strconv"
	"strings"
)

// ParseSARIF reads a SARIF 2.1.0 log into one Run per run, as gosec, Trivy,
// Semgrep, CodeQL and other analysers write it.
//
// For each result it resolves the rule (by ruleIndex or rule.index, in the
// driver or in the tool extension rule.toolComponent.index names, checked
// against the rule id, else by id), then takes:
//   - Level: the result's level, else the rule's defaultConfiguration.level,
//     else "warning" as the specification says ("none" for a result whose kind
//     is not "fail");
//   - Score: properties["security-severity"] of the result, else of the rule,
//     written as a number or a numeric string (CodeQL and Trivy put it on rules);
//     without one, a severity tag ("HIGH" and so on, as gosec writes) still
//     gives the Severity band;
//   - Message: message.text, else message.id looked up in the rule's
//     messageStrings with {0}, {1}... replaced by the arguments;
//   - Location: "uri:startLine" of the first physical location.
//
// A result is left out when it has a suppression whose status is "accepted" or
// absent (Semgrep's nosemgrep and gosec's #nosec write none) and none that is
// "underReview" or "rejected".
func ParseSARIF(r io.Reader) ([]Run, error) {
	p := &sarifParser{j: newJSONStream("sarif", r)}
	var root *jpath
	sawRuns := false
	err := p.j.object(root, func(key string) error {
		switch key {
		case "version":
			v, err := p.j.str(root.field(key))
			if err == nil && v != "" && v != "2.1.0" {
				err = p.j.errorAt(root.field(key), "%q, want 2.1.0", v)
			}
			return err
		case "runs":
			sawRuns = true
			return p.j.array(root.field(key), func(i int) error {
				if len(p.runs) >= maxRuns {
					return p.j.errorAt(root.field(key), "more than %d runs", maxRuns)
				}
				return p.run(root.field(key).at(i))
			})
		}
		return p.j.skip(root.field(key))
	})
	if err == nil && !sawRuns {
		err = &ParseError{Format: "sarif", Offset: -1, Err: errMissingRuns}
	}
	if err == nil {
		err = p.j.end()
	}
	if err != nil {
		return nil, err
	}
	return p.runs, nil
}

var errMissingRuns = errors.New("no runs: not a SARIF log")

type sarifParser struct {
	j       *jsonStream
	runs    []Run
	results int // across runs, for maxResults
	rules   int // across runs, for maxRules
}

// sarifRule is what a rule contributes to its results.
type sarifRule struct {
	id       string
	level    string // defaultConfiguration.level
	score    float64
	hasScore bool
	tagged   Severity          // from a severity tag
	messages map[string]string // messageStrings: id to text
}

// sarifComponent is the driver or one extension of a run's tool.
type sarifComponent struct {
	name  string
	rules []sarifRule
	byID  map[string]int // built on first lookup by id
}

// sarifResult is a result as read, resolved against rules once the run ends
// (a run may list its results before its tool).
type sarifResult struct {
	ruleID    string
	ruleIndex int64 // -1 when absent
	component int64 // rule.toolComponent.index; -1 for the driver
	kind      string
	level     string
	text      string
	messageID string
	args      []string
	uri       string
	line      int64
	score     float64
	hasScore  bool
	tagged    Severity
	suppress  suppression
}

// suppression accumulates a result's suppressions.
type suppression struct {
	accepted bool // one is accepted, or has no status
	disputed bool // one is under review or rejected
}

// maxArgs bounds the message arguments kept per result.
const maxArgs = 16

// maxMessageStrings bounds the messageStrings kept per rule.
const maxMessageStrings = 64

var levels = map[string]bool{"none": true, "note": true, "warning": true, "error": true}

func (p *sarifParser) run(at *jpath) error {
	var (
		driver     sarifComponent
		extensions []sarifComponent
		results    []sarifResult
	)
	err := p.j.object(at, func(key string) error {
		switch key {
		case "tool":
			tool := at.field(key)
			return p.j.object(tool, func(key string) error {
				switch key {
				case "driver":
					return p.component(tool.field(key), &driver)
				case "extensions":
					ext := tool.field(key)
					return p.j.array(ext, func(i int) error {
						extensions = append(extensions, sarifComponent{})
						return p.component(ext.at(i), &extensions[len(extensions)-1])
					})
				}
				return p.j.skip(tool.field(key))
			})
		case "results":
			list := at.field(key)
			return p.j.array(list, func(i int) error {
				p.results++
				if p.results > maxResults {
					return p.j.errorAt(list, "more than %d results", maxResults)
				}
				res, err := p.result(list.at(i))
				if err != nil {
					return err
				}
				if !res.suppress.accepted || res.suppress.disputed {
					results = append(results, res)
				}
				return nil
			})
		}
		return p.j.skip(at.field(key))
	})
	if err != nil {
		return err
	}
	run := Run{Tool: driver.name, Results: make([]Finding, 0, len(results))}
	for i := range results {
		run.Results = append(run.Results, finding(&results[i], &driver, extensions))
	}
	p.runs = append(p.runs, run)
	return nil
}

// component reads a tool component: its name and rules.
func (p *sarifParser) component(at *jpath, c *sarifComponent) error {
	return p.j.object(at, func(key string) error {
		switch key {
		case "name":
			var err error
			c.name, err = p.j.str(at.field(key))
			return err
		case "rules":
			list := at.field(key)
			return p.j.array(list, func(i int) error {
				p.rules++
				if p.rules > maxRules {
					return p.j.errorAt(list, "more than %d rules", maxRules)
				}
				rule, err := p.rule(list.at(i))
				c.rules = append(c.rules, rule)
				return err
			})
		}
		return p.j.skip(at.field(key))
	})
}

// rule reads a reportingDescriptor.
func (p *sarifParser) rule(at *jpath) (sarifRule, error) {
	var r sarifRule
	err := p.j.object(at, func(key string) error {
		var err error
		switch key {
		case "id":
			r.id, err = p.j.str(at.field(key))
		case "defaultConfiguration":
			conf := at.field(key)
			err = p.j.object(conf, func(key string) error {
				if key != "level" {
					return p.j.skip(conf.field(key))
				}
				r.level, err = p.level(conf.field(key))
				return err
			})
		case "properties":
			r.score, r.hasScore, r.tagged, err = p.properties(at.field(key))
		case "messageStrings":
			strs := at.field(key)
			err = p.j.object(strs, func(id string) error {
				text, err := p.multiformat(strs.field(id))
				if err == nil && len(r.messages) < maxMessageStrings {
					if r.messages == nil {
						r.messages = make(map[string]string)
					}
					r.messages[id] = text
				}
				return err
			})
		default:
			err = p.j.skip(at.field(key))
		}
		return err
	})
	return r, err
}

// multiformat reads a multiformatMessageString, keeping its text.
func (p *sarifParser) multiformat(at *jpath) (string, error) {
	var text string
	err := p.j.object(at, func(key string) error {
		if key != "text" {
			return p.j.skip(at.field(key))
		}
		var err error
		text, err = p.j.str(at.field(key))
		return err
	})
	return text, err
}

// properties reads a property bag, keeping security-severity and the
// severity a tag names.
func (p *sarifParser) properties(at *jpath) (score float64, hasScore bool, tagged Severity, err error) {
	err = p.j.object(at, func(key string) error {
		var err error
		switch key {
		case "security-severity":
			score, hasScore, err = p.j.score(at.field(key))
		case "tags":
			tags := at.field(key)
			err = p.j.array(tags, func(i int) error {
				tag, err := p.j.str(tags.at(i))
				if sev := tagSeverity(tag); sev != NoSeverity && tagged == NoSeverity {
					tagged = sev
				}
				return err
			})
		default:
			err = p.j.skip(at.field(key))
		}
		return err
	})
	return score, hasScore, tagged, err
}

// tagSeverity reads a tag that is exactly a severity word.
func tagSeverity(tag string) Severity {
	switch strings.ToLower(tag) {
	case "critical":
		return Critical
	case "high":
		return High
	case "medium", "moderate":
		return Medium
	case "low":
		return Low
	}
	return NoSeverity
}

// level reads a SARIF level, refusing values the specification does not know.
func (p *sarifParser) level(at *jpath) (string, error) {
	v, err := p.j.str(at)
	if err == nil && v != "" && !levels[v] {
		err = p.j.errorAt(at, "%q is not one of none, note, warning, error", v)
	}
	return v, err
}

// result reads one result.
func (p *sarifParser) result(at *jpath) (sarifResult, error) {
	res := sarifResult{ruleIndex: -1, component: -1}
	err := p.j.object(at, func(key string) error {
		var err error
		switch key {
		case "ruleId":
			res.ruleID, err = p.j.str(at.field(key))
		case "ruleIndex":
			res.ruleIndex, err = p.index(at.field(key))
		case "rule":
			err = p.ruleReference(at.field(key), &res)
		case "kind":
			res.kind, err = p.j.str(at.field(key))
		case "level":
			res.level, err = p.level(at.field(key))
		case "message":
			err = p.message(at.field(key), &res)
		case "locations":
			locs := at.field(key)
			err = p.j.array(locs, func(i int) error {
				if i > 0 {
					return p.j.skip(locs.at(i))
				}
				return p.location(locs.at(i), &res)
			})
		case "properties":
			res.score, res.hasScore, res.tagged, err = p.properties(at.field(key))
		case "suppressions":
			list := at.field(key)
			err = p.j.array(list, func(i int) error {
				return p.suppression(list.at(i), &res.suppress)
			})
		default:
			err = p.j.skip(at.field(key))
		}
		return err
	})
	return res, err
}

// index reads an array index; -1 (the specification's "absent") is allowed.
func (p *sarifParser) index(at *jpath) (int64, error) {
	n, present, err := p.j.integer(at)
	if err != nil {
		return -1, err
	}
	if !present {
		return -1, nil
	}
	if n < -1 {
		return -1, p.j.errorAt(at, "index %d is negative", n)
	}
	return n, nil
}

// ruleReference reads result.rule: the rule's id and index and the tool
// component that holds it.
func (p *sarifParser) ruleReference(at *jpath, res *sarifResult) error {
	return p.j.object(at, func(key string) error {
		var err error
		switch key {
		case "id":
			var id string
			if id, err = p.j.str(at.field(key)); res.ruleID == "" {
				res.ruleID = id
			}
		case "index":
			var idx int64
			if idx, err = p.index(at.field(key)); res.ruleIndex < 0 {
				res.ruleIndex = idx
			}
		case "toolComponent":
			comp := at.field(key)
			err = p.j.object(comp, func(key string) error {
				if key != "index" {
					return p.j.skip(comp.field(key))
				}
				var err error
				res.component, err = p.index(comp.field(key))
				return err
			})
		default:
			err = p.j.skip(at.field(key))
		}
		return err
	})
}

// message reads result.message.
func (p *sarifParser) message(at *jpath, res *sarifResult) error {
	return p.j.object(at, func(key string) error {
		var err error
		switch key {
		case "text":
			res.text, err = p.j.str(at.field(key))
		case "id":
			res.messageID, err = p.j.str(at.field(key))
		case "arguments":
			args := at.field(key)
			err = p.j.array(args, func(i int) error {
				arg, err := p.j.str(args.at(i))
				if len(res.args) < maxArgs {
					res.args = append(res.args, arg)
				}
				return err
			})
		default:
			err = p.j.skip(at.field(key))
		}
		return err
	})
}

// location reads the artifact URI and start line of a location.
func (p *sarifParser) location(at *jpath, res *sarifResult) error {
	return p.j.object(at, func(key string) error {
		if key != "physicalLocation" {
			return p.j.skip(at.field(key))
		}
		phys := at.field(key)
		return p.j.object(phys, func(key string) error {
			switch key {
			case "artifactLocation":
				art := phys.field(key)
				return p.j.object(art, func(key string) error {
					if key != "uri" {
						return p.j.skip(art.field(key))
					}
					var err error
					res.uri, err = p.j.str(art.field(key))
					return err
				})
			case "region":
				reg := phys.field(key)
				return p.j.object(reg, func(key string) error {
					if key != "startLine" {
						return p.j.skip(reg.field(key))
					}
					n, _, err := p.j.integer(reg.field(key))
					if err == nil && n < 0 {
						err = p.j.errorAt(reg.field(key), "line %d is negative", n)
					}
					res.line = n
					return err
				})
			}
			return p.j.skip(phys.field(key))
		})
	})
}

// suppression reads one suppression's status.
func (p *sarifParser) suppression(at *jpath, s *suppression) error {
	status := ""
	err := p.j.object(at, func(key string) error {
		if key != "status" {
			return p.j.skip(at.field(key))
		}
		var err error
		status, err = p.j.str(at.field(key))
		return err
	})
	if err != nil {
		return err
	}
	switch status {
	case "", "accepted":
		s.accepted = true
	case "underReview", "rejected":
		s.disputed = true
	default:
		return p.j.errorAt(at.field("status"), "%q is not one of accepted, underReview, rejected", status)
	}
	return nil
}

// finding resolves a result against its run's rules.
func finding(res *sarifResult, driver *sarifComponent, extensions []sarifComponent) Finding {
	rule := lookupRule(res, driver, extensions)
	f := Finding{RuleID: res.ruleID, Level: res.level}
	if f.RuleID == "" && rule != nil {
		f.RuleID = rule.id
	}
	if f.Level == "" {
		switch {
		case res.kind != "" && res.kind != "fail":
			f.Level = "none"
		case rule != nil && rule.level != "":
			f.Level = rule.level
		default:
			f.Level = "warning"
		}
	}
	switch {
	case res.hasScore:
		f.Score = res.score
		f.Severity = SeverityForScore(f.Score)
	case rule != nil && rule.hasScore:
		f.Score = rule.score
		f.Severity = SeverityForScore(f.Score)
	case res.tagged != NoSeverity:
		f.Severity = res.tagged
	case rule != nil:
		f.Severity = rule.tagged
	}
	text := res.text
	if text == "" && res.messageID != "" && rule != nil {
		text = substitute(rule.messages[res.messageID], res.args)
	}
	f.Message = shorten(text)
	if res.uri != "" {
		f.Location = res.uri
		if res.line > 0 {
			f.Location += ":" + strconv.FormatInt(res.line, 10)
		}
	}
	return f
}

// lookupRule finds a result's rule: by index when the index is valid and the
// rule there has the result's id, else by id in the driver and extensions.
func lookupRule(res *sarifResult, driver *sarifComponent, extensions []sarifComponent) *sarifRule {
	comp := driver
	if res.component >= 0 {
		comp = nil
		if res.component < int64(len(extensions)) {
			comp = &extensions[res.component]
		}
	}
	if comp != nil && res.ruleIndex >= 0 && res.ruleIndex < int64(len(comp.rules)) {
		if r := &comp.rules[res.ruleIndex]; res.ruleID == "" || r.id == res.ruleID {
			return r
		}
	}
	if res.ruleID == "" {
		return nil
	}
	if r := driver.find(res.ruleID); r != nil {
		return r
	}
	for i := range extensions {
		if r := extensions[i].find(res.ruleID); r != nil {
			return r
		}
	}
	return nil
}

// find returns the component's rule with the given id, indexing the rules on
// first use.
func (c *sarifComponent) find(id string) *sarifRule {
	if len(c.rules) == 0 {
		return nil
	}
	if c.byID == nil {
		c.byID = make(map[string]int, len(c.rules))
		for i := len(c.rules) - 1; i >= 0; i-- { // the first of duplicates wins
			c.byID[c.rules[i].id] = i
		}
	}
	if i, ok := c.byID[id]; ok {
		return &c.rules[i]
	}
	return nil
}

// substitute replaces {0}, {1}... in a message string with the arguments.
func substitute(format string, args []string) string {
	if !strings.Contains(format, "{") {
		return format
	}
	var b strings.Builder
	for {
		open := strings.IndexByte(format, '{')
		if open < 0 {
			break
		}
		end := strings.IndexByte(format[open:], '}')
		if end < 0 {
			break
		}
		end += open
		b.WriteString(format[:open])
		if n, err := strconv.Atoi(format[open+1 : end]); err == nil && n >= 0 && n < len(args) {
			b.WriteString(args[n])
		} else {
			b.WriteString(format[open : end+1])
		}
		format = format[end+1:]
	}
	b.WriteString(format)
	return b.String()
}

// SeverityForScore maps a security-severity score (CVSS-style, 0 to 10) to its
// band: >= 9 critical, >= 7 high, >= 4 medium, > 0 low, else none.
func SeverityForScore(score float64) Severity {
	switch {
	case score >= 9:
		return Critical
	case score >= 7:
		return High
	case score >= 4:
		return Medium
	case score > 0:
		return Low
	}
	return NoSeverity
}
